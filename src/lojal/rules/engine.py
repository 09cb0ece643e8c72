"""The earning-rule engine: pure. Facts and rules in, an ``Award`` with a readable explanation
out. The caller supplies how many points each capped rule has already given the member in the
cap's current period (``used``) and stores the award.

Arithmetic is exact: each rule's contribution is summed over the lines as a fraction and rounded
down once per purchase; the integer points are then shared out to the lines by largest
remainder, so the lines' points add up to the award and a return can take back exactly the
returned lines' points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any, Literal
from zoneinfo import ZoneInfo

from lojal.conditions.evaluate import matches
from lojal.rules.schemas import (
    BaseRule,
    BonusRule,
    EventRule,
    FirstPurchaseRule,
    MultiplierRule,
    Rule,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Stacking = Literal["multiply", "add", "max"]


@dataclass(frozen=True, slots=True)
class LineFacts:
    sku: str
    quantity: int
    unit_price_minor: int
    total_minor: int
    name: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class PurchaseFacts:
    occurred_at: datetime
    channel: str
    total_minor: int
    lines: Sequence[LineFacts]
    store_id: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventFacts:
    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class MemberFacts:
    first_purchase: bool = False
    enrolment_channel: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: Sequence[Rule]
    timezone: str
    currency: str
    minor_units: int = 2
    stacking: Stacking = "multiply"
    point_name: str = "points"

    @property
    def capped(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.cap is not None]


@dataclass(frozen=True, slots=True)
class AwardPart:
    rule_id: str
    points: int
    text: str
    capped: bool = False


@dataclass(frozen=True, slots=True)
class Award:
    points: int
    line_points: tuple[int, ...]
    order_points: int
    parts: tuple[AwardPart, ...]
    explanation: str

    @property
    def by_rule(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for part in self.parts:
            out[part.rule_id] = out.get(part.rule_id, 0) + part.points
        return out


NO_AWARD = Award(0, (), 0, (), "")


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
        },
    }


def _line_context(base: dict[str, Any], line: LineFacts) -> dict[str, Any]:
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


def _active(rule: Rule, at: datetime) -> bool:
    if rule.valid_from is not None and at < _aware(rule.valid_from):
        return False
    return not (rule.valid_until is not None and at >= _aware(rule.valid_until))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _fmt_decimal(value: Decimal | Fraction) -> str:
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return format(value.normalize(), "f")


def _money(minor: int, ruleset: RuleSet) -> str:
    major = Fraction(minor, 10**ruleset.minor_units)
    return f"{_fmt_decimal(major)} {ruleset.currency}"


def _allocate(total: int, weights: Sequence[Fraction]) -> list[int]:
    """Share ``total`` integer points over lines in proportion to ``weights`` (largest
    remainder; ties to the earlier line)."""
    weight_sum = sum(weights, Fraction(0))
    if total == 0 or weight_sum == 0:
        return [0] * len(weights)
    exact = [w * total / weight_sum for w in weights]
    shares = [floor(x) for x in exact]
    left = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def _cap(rule: Rule, points: int, used: Mapping[str, int]) -> tuple[int, bool]:
    if rule.cap is None:
        return points, False
    room = max(0, rule.cap.points - used.get(rule.id, 0))
    return (points, False) if points <= room else (room, True)


def award_purchase(
    ruleset: RuleSet,
    purchase: PurchaseFacts,
    member: MemberFacts,
    used: Mapping[str, int] | None = None,
) -> Award:
    used = used or {}
    at = purchase.occurred_at
    context = purchase_context(purchase, member, ruleset.timezone)
    line_contexts = [_line_context(context, line) for line in purchase.lines]
    n = len(purchase.lines)
    active = [rule for rule in ruleset.rules if _active(rule, at)]

    # Base points per line (exact), from the first base rule matching each line.
    base: list[Fraction] = [Fraction(0)] * n
    base_rule_of: list[BaseRule | None] = [None] * n
    for i, (line, ctx) in enumerate(zip(purchase.lines, line_contexts, strict=True)):
        for rule in active:
            if isinstance(rule, BaseRule) and (rule.when is None or matches(rule.when, ctx)):
                major = Fraction(line.total_minor, 10**ruleset.minor_units)
                base[i] = major * Fraction(rule.points) / Fraction(rule.per)
                base_rule_of[i] = rule
                break

    # line-level contributions per rule: rule id -> per-line exact points
    contributions: list[tuple[Rule, list[Fraction], str]] = []
    for rule in active:
        if isinstance(rule, BaseRule):
            per_line = [base[i] if base_rule_of[i] is rule else Fraction(0) for i in range(n)]
            if any(per_line):
                spent = sum(
                    (
                        line.total_minor
                        for i, line in enumerate(purchase.lines)
                        if base_rule_of[i] is rule
                    ),
                    0,
                )
                per = "" if rule.per == 1 else f"{_fmt_decimal(rule.per)} "
                text = (
                    f"{_fmt_decimal(rule.points)} per {per}{ruleset.currency} "
                    f"on {_money(spent, ruleset)}"
                )
                contributions.append((rule, per_line, text))

    multipliers = [rule for rule in active if isinstance(rule, MultiplierRule)]
    factors_by_line: list[list[MultiplierRule]] = [
        [m for m in multipliers if m.when is None or matches(m.when, ctx)] for ctx in line_contexts
    ]
    extra: dict[str, list[Fraction]] = {m.id: [Fraction(0)] * n for m in multipliers}
    for i in range(n):
        applied = factors_by_line[i]
        if not applied or base[i] == 0:
            continue
        if ruleset.stacking == "max":
            best = max(applied, key=lambda m: m.factor)
            extra[best.id][i] = base[i] * (Fraction(best.factor) - 1)
        elif ruleset.stacking == "add":
            for m in applied:
                extra[m.id][i] = base[i] * (Fraction(m.factor) - 1)
        else:
            running = base[i]
            for m in applied:
                extra[m.id][i] = running * (Fraction(m.factor) - 1)
                running *= Fraction(m.factor)
    for m in multipliers:
        if any(extra[m.id]):
            label = m.name or _describe_when(m)
            contributions.append((m, extra[m.id], f"×{_fmt_decimal(m.factor)} {label}".rstrip()))

    parts: list[AwardPart] = []
    line_points = [0] * n
    for rule, per_line, text in contributions:
        points = floor(sum(per_line, Fraction(0)))
        points, capped = _cap(rule, points, used)
        if points <= 0:
            continue
        for i, share in enumerate(_allocate(points, per_line)):
            line_points[i] += share
        parts.append(AwardPart(rule.id, points, text + (" (capped)" if capped else ""), capped))

    order_points = 0
    for rule in active:
        if isinstance(rule, BonusRule) and (rule.when is None or matches(rule.when, context)):
            points, capped = _cap(rule, rule.points, used)
            text = f"+{points} {rule.name or 'bonus'}" + (" (capped)" if capped else "")
        elif (
            isinstance(rule, FirstPurchaseRule)
            and member.first_purchase
            and (rule.when is None or matches(rule.when, context))
        ):
            points, capped = _cap(rule, rule.points, used)
            text = f"+{points} {rule.name or 'first purchase bonus'}"
        else:
            continue
        if points > 0:
            order_points += points
            parts.append(AwardPart(rule.id, points, text, capped))

    total = sum(line_points) + order_points
    return Award(
        points=total,
        line_points=tuple(line_points),
        order_points=order_points,
        parts=tuple(parts),
        explanation=_explain(total, parts, ruleset),
    )


def award_event(
    ruleset: RuleSet,
    event: EventFacts,
    member: MemberFacts,
    used: Mapping[str, int] | None = None,
) -> Award:
    used = used or {}
    context = {
        "event": {
            "type": event.type,
            "channel": event.channel,
            "properties": dict(event.properties),
        },
        "member": {
            "enrolment_channel": member.enrolment_channel,
            "attributes": dict(member.attributes),
        },
    }
    parts: list[AwardPart] = []
    for rule in ruleset.rules:
        if not isinstance(rule, EventRule) or rule.event_type != event.type:
            continue
        if not _active(rule, event.occurred_at):
            continue
        if rule.when is not None and not matches(rule.when, context):
            continue
        points, capped = _cap(rule, rule.points, used)
        if points > 0:
            label = rule.name or event.type.replace("_", " ")
            parts.append(
                AwardPart(
                    rule.id, points, f"+{points} {label}" + (" (capped)" if capped else ""), capped
                )
            )
    total = sum(p.points for p in parts)
    return Award(total, (), total, tuple(parts), _explain(total, parts, ruleset))


def _explain(total: int, parts: Sequence[AwardPart], ruleset: RuleSet) -> str:
    if not parts:
        return f"0 {ruleset.point_name}"
    return f"{total} {ruleset.point_name}: " + "; ".join(p.text for p in parts)


def _describe_when(rule: Rule) -> str:
    """A short label for a rule without a name: 'on coffee' for a single category condition."""
    from lojal.conditions.model import Compare

    when = rule.when
    if isinstance(when, Compare) and when.op in ("eq", "in"):
        values = when.value if isinstance(when.value, list) else [when.value]
        return "on " + ", ".join(str(v) for v in values)
    return ""


def cap_window(period: str, at: datetime, timezone: str) -> tuple[datetime, datetime] | None:
    """The [start, end) of the cap period containing ``at`` in the club's time zone (None for
    lifetime)."""
    if period == "lifetime":
        return None
    tz = ZoneInfo(timezone)
    local = at.astimezone(tz)
    day = local.date()
    if period == "day":
        start, end = day, day + timedelta(days=1)
    elif period == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    elif period == "month":
        start = day.replace(day=1)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
    elif period == "year":
        start, end = date(day.year, 1, 1), date(day.year + 1, 1, 1)
    else:
        raise ValueError(period)

    def to_utc(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC)

    return to_utc(start), to_utc(end)
