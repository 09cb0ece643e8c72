"""What a challenge reads of an activity, and whether an activity counts: pure, like the
engine (``lojal.challenges.engine``), which takes what this gives.

* the fields a challenge over purchases or events may name in its condition and goal
  (``PURCHASE_FIELDS``, ``EVENT_FIELDS``), the ones a ``sum`` goal can add up, and those that
  are money;
* each activity as challenges read it (``PurchaseScope`` for a purchase and its lines, built
  once for every challenge; ``event_context`` for an event);
* ``Matcher``: the challenge's condition, compiled once — whether the activity counts, with
  the values (``distinct``) and the amount (``sum``) it gives;
* ``compile_challenge``: a stored challenge as the engine and the matcher need it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from lojal.activities.events import EventRecorded, PurchaseRecorded
from lojal.challenges.engine import Spec
from lojal.challenges.schemas import ChallengeDefinition
from lojal.conditions.evaluate import MISSING, compile_condition, lookup
from lojal.conditions.fields import Catalogue
from lojal.conditions.model import fields_of
from lojal.rules.engine import WEEKDAYS

# ---------------------------------------------------------------- what a challenge may read

PURCHASE_FIELDS = Catalogue(
    (
        "line.sku",
        "line.category",
        "line.name",
        "line.quantity",
        "line.unit_price_minor",
        "line.total_minor",
        "purchase.channel",
        "purchase.store_id",
        "purchase.total_minor",
        "purchase.line_count",
        "purchase.occurred_at",
        "purchase.weekday",
        "purchase.hour",
        "purchase.local_date",
        "member.tier",
        "member.enrolment_channel",
        "member.first_purchase",
    ),
    prefixes=("member.attributes.",),
)
EVENT_FIELDS = Catalogue(
    (
        "event.type",
        "event.occurred_at",
        "event.weekday",
        "event.hour",
        "event.local_date",
        "member.tier",
        "member.enrolment_channel",
    ),
    prefixes=("event.properties.", "member.attributes."),
)
# Fields a sum goal can add up.
PURCHASE_AMOUNTS = frozenset(
    {
        "purchase.total_minor",
        "purchase.line_count",
        "line.quantity",
        "line.unit_price_minor",
        "line.total_minor",
    }
)
EVENT_AMOUNT_PREFIX = "event.properties."
# Fields that are money (minor units of the club's currency).
PURCHASE_MONEY = frozenset({"purchase.total_minor", "line.unit_price_minor", "line.total_minor"})


def fields_for(activity: str) -> Catalogue:
    """What a challenge over ``activity`` can read (``PurchaseScope``, ``event_context``)."""
    return PURCHASE_FIELDS if activity == "purchase" else EVENT_FIELDS


def readable(activity: str, path: str) -> bool:
    """Whether a challenge over ``activity`` can read the field ``path``."""
    return fields_for(activity).knows(path)


def summable(activity: str, path: str) -> bool:
    if activity == "purchase":
        return path in PURCHASE_AMOUNTS
    return path.startswith(EVENT_AMOUNT_PREFIX)


def sums_money(definition: ChallengeDefinition) -> bool:
    """Whether the goal adds up money, so that its progress and target are minor units of the
    club's currency ("spend 500 SEK on coffee": a sum of ``total_minor`` by default)."""
    goal = definition.goal
    if goal.kind != "sum" or definition.activity != "purchase":
        return False
    return goal.field is None or goal.field in PURCHASE_MONEY


# ---------------------------------------------------------------- matching activity


@dataclass(frozen=True, slots=True)
class MemberView:
    id: int
    status: str
    tier: str | None
    enrolment_channel: str | None
    attributes: Mapping[str, Any]


def _text(value: Any) -> str:
    """A distinct value as stored: text as it is, anything else as JSON; cut to the column's
    200 characters (two longer values that share their first 200 count as one)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (date, datetime)):
        text = value.isoformat()
    else:
        try:
            text = json.dumps(value, sort_keys=True, default=str)
        except (TypeError, ValueError):
            text = str(value)
    return text[:200]


def _amount(value: Any) -> int:
    """A number to add up (whole units: minor units of money, quantities); anything else 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)) and math.isfinite(value):
        return math.floor(value)
    return 0


class PurchaseScope:
    """The fields of one purchase as challenges read them, built once for every challenge."""

    __slots__ = ("_base", "_lines", "member", "purchase", "zone")

    def __init__(self, purchase: PurchaseRecorded, member: MemberView, zone: ZoneInfo) -> None:
        self.purchase = purchase
        self.member = member
        self.zone = zone
        self._base: dict[str, Any] | None = None
        self._lines: list[dict[str, Any]] | None = None

    def base(self) -> dict[str, Any]:
        if self._base is None:
            p = self.purchase
            local = p.occurred_at.astimezone(self.zone)
            self._base = {
                "purchase.channel": p.channel,
                "purchase.store_id": p.store_id,
                "purchase.total_minor": p.total_minor,
                "purchase.occurred_at": p.occurred_at,
                "purchase.weekday": WEEKDAYS[local.weekday()],
                "purchase.hour": local.hour,
                "purchase.local_date": local.date(),
                "purchase.line_count": len(p.lines),
                "member.tier": self.member.tier,
                "member.enrolment_channel": self.member.enrolment_channel,
                "member.first_purchase": p.first_purchase,
                "member": {"attributes": self.member.attributes},
            }
        return self._base

    def lines(self) -> list[dict[str, Any]]:
        if self._lines is None:
            base = self.base()
            self._lines = [
                {
                    **base,
                    "line.sku": line.sku,
                    "line.name": line.name,
                    "line.category": line.category,
                    "line.quantity": line.quantity,
                    "line.unit_price_minor": line.unit_price_minor,
                    "line.total_minor": line.total_minor,
                }
                for line in self.purchase.lines
            ]
        return self._lines


def event_context(event: EventRecorded, member: MemberView, zone: ZoneInfo) -> dict[str, Any]:
    local = event.occurred_at.astimezone(zone)
    return {
        "event.type": event.type,
        "event.occurred_at": event.occurred_at,
        "event.weekday": WEEKDAYS[local.weekday()],
        "event.hour": local.hour,
        "event.local_date": local.date(),
        "event": {"properties": event.properties},
        "member.tier": member.tier,
        "member.enrolment_channel": member.enrolment_channel,
        "member": {"attributes": member.attributes},
    }


class Matcher:
    """Whether an activity counts for a challenge, and with which values and amount. The
    condition is compiled once (``compile_condition``), not per activity.

    A purchase challenge whose condition or goal field reads ``line.*`` looks at lines: the
    purchase counts when at least one line matches, ``distinct`` takes the values of the
    matching lines and ``sum`` adds up theirs (by default their ``total_minor``: "spend 500 SEK
    on coffee"). Otherwise the purchase as a whole matches or not (``sum`` adds up its
    ``total_minor``). A purchase with no lines left (all returned) never counts."""

    def __init__(self, definition: ChallengeDefinition) -> None:
        when = definition.when
        self.test: Callable[[Any], bool] | None = (
            compile_condition(when) if when is not None else None
        )
        goal = definition.goal
        read = fields_of(when) if when is not None else set()
        if goal.field is not None:
            read.add(goal.field)
        self.activity = definition.activity
        self.event_type = definition.event_type
        self.line_level = self.activity == "purchase" and any(f.startswith("line.") for f in read)
        self.goal = goal.kind
        default = "line.total_minor" if self.line_level else "purchase.total_minor"
        self.field = goal.field or (default if goal.kind == "sum" else None)
        self.per_line = self.field is not None and self.field.startswith("line.")

    def purchase(self, scope: PurchaseScope) -> tuple[tuple[str, ...], int] | None:
        if not scope.purchase.lines:
            return None
        test = self.test
        if self.line_level:
            rows = [row for row in scope.lines() if test is None or test(row)]
            if not rows:
                return None
        else:
            base = scope.base()
            if test is not None and not test(base):
                return None
            rows = scope.lines() if self.per_line else [base]
        return self._measure(rows)

    def event(
        self, event: EventRecorded, context: Mapping[str, Any]
    ) -> tuple[tuple[str, ...], int] | None:
        if event.type != self.event_type:
            return None
        if self.test is not None and not self.test(context):
            return None
        return self._measure([context])

    def _measure(self, rows: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, ...], int] | None:
        if self.goal in ("count", "streak"):
            return ("",), 1
        assert self.field is not None
        if not self.per_line:
            rows = rows[:1]  # a purchase's (or event's) own field: once, not once per line
        if self.goal == "sum":
            amount = sum(_amount(lookup(row, self.field)) for row in rows)
            return (("",), amount) if amount > 0 else None
        values: dict[str, None] = {}
        for row in rows:
            value = lookup(row, self.field)
            if value is not MISSING and value is not None:
                values[_text(value)] = None
        return (tuple(values), 1) if values else None


@dataclass(frozen=True, slots=True)
class Compiled:
    spec: Spec
    matcher: Matcher
    definition: ChallengeDefinition


def compile_challenge(
    *,
    id: int,
    definition: ChallengeDefinition,
    runs_from: datetime | None,
    runs_until: datetime | None,
    timezone: str,
) -> Compiled:
    goal, window = definition.goal, definition.window
    spec = Spec(
        id=id,
        code=definition.code,
        goal=goal.kind,
        target=goal.target,
        streak_period=goal.period,
        window_kind=window.kind,
        window_period=window.period,
        window_days=window.days,
        runs_from=runs_from,
        runs_until=runs_until,
        repeatable=definition.repeatable,
        max_completions=definition.max_completions,
        tiers=frozenset(definition.tiers) if definition.tiers is not None else None,
        zone=ZoneInfo(timezone),
    )
    return Compiled(spec, Matcher(definition), definition)
