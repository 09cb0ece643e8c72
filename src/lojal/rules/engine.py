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
from datetime import datetime
from math import gcd
from zoneinfo import ZoneInfo

from lojal import calendar as club_calendar
from lojal.conditions.evaluate import matches
from lojal.i18n import format_money
from lojal.rules.compiled import compile_ruleset, in_force
from lojal.rules.context import Scope, purchase_context
from lojal.rules.facts import (
    NO_AWARD,
    WEEKDAYS,
    Award,
    AwardPart,
    EventFacts,
    LineFacts,
    MemberFacts,
    PurchaseFacts,
    RuleSet,
    Stacking,
)
from lojal.rules.schemas import EventRule, FirstPurchaseRule, Rule

# The engine's values live in rules.facts; its callers import them from here.
__all__ = [
    "NO_AWARD",
    "WEEKDAYS",
    "Award",
    "AwardPart",
    "EventFacts",
    "LineFacts",
    "MemberFacts",
    "PurchaseFacts",
    "RuleSet",
    "Stacking",
    "award_event",
    "award_purchase",
    "cap_window",
    "purchase_context",
]


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


def award_purchase(
    ruleset: RuleSet,
    purchase: PurchaseFacts,
    member: MemberFacts,
    used: Mapping[str, int] | None = None,
) -> Award:
    used = used or {}
    compiled = compile_ruleset(ruleset)
    plan = compiled.plan(purchase.occurred_at)
    lines = purchase.lines
    n = len(lines)
    scope = Scope(purchase, member, compiled.zone)

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
        if not in_force(rule, event.occurred_at):
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


def cap_window(period: str, at: datetime, timezone: str) -> tuple[datetime, datetime] | None:
    """The [start, end) of the cap period containing ``at`` in the club's time zone (None for
    lifetime)."""
    if period == "lifetime":
        return None
    return club_calendar.window(period, at, ZoneInfo(timezone))
