"""What an earning rule's condition reads: the purchase, its line and the member as the nested
context of the condition language (``purchase_context``, ``line_context``), and the same values
read straight from the facts (``Scope`` and ``field_getter``), so that evaluating a compiled
condition on a line builds no dictionaries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from lojal.conditions.evaluate import MISSING, walk
from lojal.rules.facts import WEEKDAYS, LineFacts, MemberFacts, PurchaseFacts


def purchase_context(purchase: PurchaseFacts, member: MemberFacts, timezone: str) -> dict[str, Any]:
    local = purchase.occurred_at.astimezone(ZoneInfo(timezone))
    return {
        "purchase": {
            "channel": purchase.channel,
            "store_id": purchase.store_id,
            "total_minor": purchase.total_minor,
            "occurred_at": purchase.occurred_at,
            "weekday": WEEKDAYS[local.weekday()],
            "hour": local.hour,
            "local_date": local.date(),
            "attributes": dict(purchase.attributes),
            "line_count": len(purchase.lines),
        },
        "member": {
            "first_purchase": member.first_purchase,
            "enrolment_channel": member.enrolment_channel,
            "attributes": dict(member.attributes),
            "tier": member.tier,
        },
    }


def line_context(base: dict[str, Any], line: LineFacts) -> dict[str, Any]:
    return {
        **base,
        "line": {
            "sku": line.sku,
            "name": line.name,
            "category": line.category,
            "quantity": line.quantity,
            "unit_price_minor": line.unit_price_minor,
            "total_minor": line.total_minor,
        },
    }


class Scope:
    """What a purchase rule's condition reads, as ``purchase_context`` + ``line_context``
    would give it, read straight from the facts (``field_getter``)."""

    __slots__ = ("_local", "line", "member", "purchase", "zone")

    def __init__(self, purchase: PurchaseFacts, member: MemberFacts, zone: ZoneInfo) -> None:
        self.purchase = purchase
        self.member = member
        self.zone = zone
        self.line: LineFacts | None = None
        self._local: datetime | None = None

    def local(self) -> datetime:
        if self._local is None:
            self._local = self.purchase.occurred_at.astimezone(self.zone)
        return self._local

    def nested(self) -> dict[str, Any]:
        context = purchase_context(self.purchase, self.member, self.zone.key)
        return context if self.line is None else line_context(context, self.line)


_LINE_FIELDS = frozenset(("sku", "name", "category", "quantity", "unit_price_minor", "total_minor"))
_PURCHASE_FIELDS = frozenset(("channel", "store_id", "total_minor", "occurred_at"))
_LOCAL_FIELDS: dict[str, Callable[[datetime], Any]] = {
    "weekday": lambda local: WEEKDAYS[local.weekday()],
    "hour": lambda local: local.hour,
    "local_date": lambda local: local.date(),
}


def field_getter(path: str) -> Callable[[Any], Any]:
    """How to read ``path`` from a ``Scope``: the value ``lookup`` finds in the nested
    context, without building it (an unusual path falls back to building it)."""
    head, _, rest = path.partition(".")
    name, _, deeper = rest.partition(".")
    if head == "line" and name in _LINE_FIELDS and not deeper:

        def line_field(scope: Scope) -> Any:
            return MISSING if scope.line is None else getattr(scope.line, name)

        return line_field
    if head == "purchase" and not deeper:
        if name in _PURCHASE_FIELDS:
            return lambda scope: getattr(scope.purchase, name)
        if name in _LOCAL_FIELDS:
            part = _LOCAL_FIELDS[name]
            return lambda scope: part(scope.local())
        if name == "line_count":
            return lambda scope: len(scope.purchase.lines)
    if name == "attributes" and deeper and head in ("purchase", "member"):
        parts = tuple(deeper.split("."))
        if head == "purchase":
            return lambda scope: walk(scope.purchase.attributes, parts)
        return lambda scope: walk(scope.member.attributes, parts)
    if head == "member" and name in ("first_purchase", "enrolment_channel", "tier") and not deeper:
        return lambda scope: getattr(scope.member, name)
    parts = tuple(path.split("."))
    return lambda scope: walk(scope.nested(), parts)
