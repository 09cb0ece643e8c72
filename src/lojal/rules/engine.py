"""The earning-rule engine: pure. Facts and rules in, an ``Award`` with a readable explanation
out. The caller supplies how many points each capped rule has already given the member in the
cap's current period (``used``) and stores the award.

Arithmetic is exact: each rule's contribution is summed over the lines as a fraction and rounded
down once per purchase; the integer points are then shared out to the lines by largest
remainder, so the lines' points add up to the award and a return can take back exactly the
returned lines' points.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from math import gcd
from typing import Any, Literal
from zoneinfo import ZoneInfo

from lojal import calendar as club_calendar
from lojal.activities.events import LineFacts
from lojal.conditions.evaluate import MISSING, Predicate, compile_condition, matches, walk
from lojal.i18n import format_money
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
    tier: str | None = None  # the member's current tier (its code), when the club has tiers


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
            "tier": member.tier,
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


class _Scope:
    """What a purchase rule's condition reads, as ``purchase_context`` + ``_line_context``
    would give it, read straight from the facts (``_field_getter``)."""

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
        return context if self.line is None else _line_context(context, self.line)


_LINE_FIELDS = frozenset(("sku", "name", "category", "quantity", "unit_price_minor", "total_minor"))
_PURCHASE_FIELDS = frozenset(("channel", "store_id", "total_minor", "occurred_at"))
_LOCAL_FIELDS: dict[str, Callable[[datetime], Any]] = {
    "weekday": lambda local: WEEKDAYS[local.weekday()],
    "hour": lambda local: local.hour,
    "local_date": lambda local: local.date(),
}


def _field_getter(path: str) -> Callable[[Any], Any]:
    """How to read ``path`` from a ``_Scope``: the value ``lookup`` finds in the nested
    context, without building it (an unusual path falls back to building it)."""
    head, _, rest = path.partition(".")
    name, _, deeper = rest.partition(".")
    if head == "line" and name in _LINE_FIELDS and not deeper:

        def line_field(scope: _Scope) -> Any:
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


def _allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Share ``total`` integer points over lines in proportion to integer ``weights`` (largest
    remainder; ties to the earlier line)."""
    weight_sum = sum(weights)
    if total == 0 or weight_sum == 0:
        return [0] * len(weights)
    shares: list[int] = []
    remainders: list[int] = []
    for w in weights:
        q, r = divmod(w * total, weight_sum)
        shares.append(q)
        remainders.append(r)
    left = total - sum(shares)
    if left:
        order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
        for i in order[:left]:
            shares[i] += 1
    return shares


def _cap(rule: Rule, points: int, used: Mapping[str, int]) -> tuple[int, bool]:
    if rule.cap is None:
        return points, False
    room = max(0, rule.cap.points - used.get(rule.id, 0))
    return (points, False) if points <= room else (room, True)


@dataclass(frozen=True, slots=True)
class _Plan:
    bases: list[tuple[Predicate | None, int]]
    multipliers: list[tuple[Predicate | None, int]]
    line_rules: list[tuple[Rule, int, bool]]
    order_rules: list[tuple[BonusRule | FirstPurchaseRule, Predicate | None]]


class _Compiled:
    """A ruleset prepared for fast, exact evaluation (built once per ruleset).

    Every point a line earns is ``line.total_minor × K`` for a rational ``K`` that depends only
    on the base rule that priced the line and the multipliers that applied to it. ``K`` is
    computed once per such combination; a rule's points are then a sum of integers over one
    common denominator, floored once, and shared out to the lines by largest remainder with
    integer arithmetic — the same numbers exact fractions give, at a fraction of the cost.
    """

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.rules = list(ruleset.rules)
        self.windowed = any(
            r.valid_from is not None or r.valid_until is not None for r in self.rules
        )
        self.scale = 10**ruleset.minor_units
        self.zone = ZoneInfo(ruleset.timezone)
        self.position = {id(rule): i for i, rule in enumerate(self.rules)}
        self.texts: dict[int, str] = {}
        for pos, rule in enumerate(self.rules):
            if isinstance(rule, BaseRule):
                per = "" if rule.per == 1 else f"{_fmt_decimal(rule.per)} "
                self.texts[pos] = f"{_fmt_decimal(rule.points)} per {per}{ruleset.currency} on "
            elif isinstance(rule, MultiplierRule):
                label = rule.name or _describe_when(rule)
                self.texts[pos] = f"×{_fmt_decimal(rule.factor)} {label}".rstrip()
        self.when: dict[int, Predicate] = {
            id(rule): compile_condition(rule.when, _field_getter)
            for rule in self.rules
            if rule.when is not None
        }
        self._plans: dict[tuple[bool, ...], _Plan] = {}
        self._coefficients: dict[tuple[int, tuple[int, ...]], tuple[tuple[int, int, int], ...]] = {}

    def plan(self, at: datetime) -> _Plan:
        """The rules in force at ``at``, sorted by what they do (cached per set of rules)."""
        key = tuple(_active(rule, at) for rule in self.rules) if self.windowed else ()
        found = self._plans.get(key)
        if found is None:
            active = [r for r in self.rules if _active(r, at)] if self.windowed else self.rules
            bases = [
                (self.when.get(id(r)), self.position[id(r)])
                for r in active
                if isinstance(r, BaseRule)
            ]
            multipliers = [
                (self.when.get(id(r)), self.position[id(r)])
                for r in active
                if isinstance(r, MultiplierRule)
            ]
            order: list[tuple[BonusRule | FirstPurchaseRule, Predicate | None]] = [
                (r, self.when.get(id(r)))
                for r in active
                if isinstance(r, (BonusRule, FirstPurchaseRule))
            ]
            found = _Plan(
                bases=bases,
                multipliers=multipliers,
                # base rules first, then multipliers, each in the order they are listed
                line_rules=[(self.rules[pos], pos, True) for _, pos in bases]
                + [(self.rules[pos], pos, False) for _, pos in multipliers],
                order_rules=order,
            )
            self._plans[key] = found
        return found

    def coefficients(self, base: int, applied: tuple[int, ...]) -> tuple[tuple[int, int, int], ...]:
        """(rule position, numerator, denominator) of ``K`` for each rule a line earns from,
        given the position of its base rule and of the multipliers that applied."""
        key = (base, applied)
        found = self._coefficients.get(key)
        if found is not None:
            return found
        rule = self.rules[base]
        assert isinstance(rule, BaseRule)
        rate = Fraction(rule.points) / Fraction(rule.per) / self.scale
        parts: list[tuple[int, Fraction]] = [(base, rate)]
        factors = [(pos, Fraction(self._factor(pos))) for pos in applied]
        if factors:
            stacking = self.ruleset.stacking
            if stacking == "max":
                best = max(factors, key=lambda f: f[1])
                parts.append((best[0], rate * (best[1] - 1)))
            elif stacking == "add":
                parts += [(pos, rate * (factor - 1)) for pos, factor in factors]
            else:
                running = rate
                for pos, factor in factors:
                    parts.append((pos, running * (factor - 1)))
                    running *= factor
        found = tuple((pos, k.numerator, k.denominator) for pos, k in parts)
        self._coefficients[key] = found
        return found

    def _factor(self, pos: int) -> Decimal:
        rule = self.rules[pos]
        assert isinstance(rule, MultiplierRule)
        return rule.factor


_compiled: dict[int, _Compiled] = {}


def _compile(ruleset: RuleSet) -> _Compiled:
    held = _compiled.get(id(ruleset))
    if held is None or held.ruleset is not ruleset:
        if len(_compiled) > 64:
            _compiled.clear()
        held = _Compiled(ruleset)
        _compiled[id(ruleset)] = held
    return held


def award_purchase(
    ruleset: RuleSet,
    purchase: PurchaseFacts,
    member: MemberFacts,
    used: Mapping[str, int] | None = None,
) -> Award:
    used = used or {}
    compiled = _compile(ruleset)
    plan = compiled.plan(purchase.occurred_at)
    lines = purchase.lines
    n = len(lines)
    scope = _Scope(purchase, member, compiled.zone)

    # Per rule position: (line index, weight numerator, denominator) of what each line earns.
    earned: dict[int, list[tuple[int, int, int]]] = {}
    base_spent: dict[int, int] = {}
    bases = plan.bases
    multipliers = plan.multipliers
    coefficients = compiled.coefficients
    for i, line in enumerate(lines):
        scope.line = line
        base = -1
        for when, pos in bases:
            if when is None or when(scope):
                base = pos
                break
        if base < 0:
            continue
        amount = line.total_minor
        base_spent[base] = base_spent.get(base, 0) + amount
        if amount == 0:
            continue
        applied = tuple(pos for when, pos in multipliers if when is None or when(scope))
        for pos, num, den in coefficients(base, applied):
            found = earned.get(pos)
            if found is None:
                earned[pos] = [(i, amount * num, den)]
            else:
                found.append((i, amount * num, den))
    scope.line = None

    parts: list[AwardPart] = []
    line_points = [0] * n
    if earned:
        for rule, pos, is_base in plan.line_rules:
            shares = earned.get(pos)
            if not shares:
                continue
            weights = [0] * n
            if len(shares) == 1:
                i, num, common = shares[0]
                weights[i] = num
            else:
                common = 1
                for _, _, den in shares:
                    common = common * den // gcd(common, den)
                for i, num, den in shares:
                    weights[i] += num * (common // den)
            points, capped = _cap(rule, sum(weights) // common, used)
            if points <= 0:
                continue
            for i, share in enumerate(_allocate(points, weights)):
                line_points[i] += share
            text = compiled.texts[pos]
            if is_base:
                text += format_money(base_spent[pos], ruleset.currency)
            if capped:
                text += " (capped)"
            parts.append(AwardPart(rule.id, points, text, capped))

    order_points = 0
    for bonus, when in plan.order_rules:
        first = isinstance(bonus, FirstPurchaseRule)
        if first and not member.first_purchase:
            continue
        if when is not None and not when(scope):
            continue
        points, capped = _cap(bonus, bonus.points, used)
        if first:
            text = f"+{points} {bonus.name or 'first purchase bonus'}"
        else:
            text = f"+{points} {bonus.name or 'bonus'}" + (" (capped)" if capped else "")
        if points > 0:
            order_points += points
            parts.append(AwardPart(bonus.id, points, text, capped))

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
            "tier": member.tier,
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
    return club_calendar.window(period, at, ZoneInfo(timezone))
