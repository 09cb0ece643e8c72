"""A reference for the earning engine: the rules of ``lojal.rules.engine`` written the plain way,
with exact fractions everywhere, evaluating conditions with ``matches()`` on every call.

The production engine computes the same awards with integer arithmetic and compiled
conditions; ``test_engine_parity`` checks that the two agree on random rules and baskets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from math import floor

from lojal.conditions.evaluate import matches
from lojal.i18n import format_money
from lojal.rules.compiled import describe_when as _describe_when
from lojal.rules.compiled import fmt_decimal as _fmt_decimal
from lojal.rules.compiled import in_force as _active
from lojal.rules.context import line_context as _line_context
from lojal.rules.context import purchase_context
from lojal.rules.engine import _cap, _explain
from lojal.rules.facts import Award, AwardPart, MemberFacts, PurchaseFacts, RuleSet
from lojal.rules.schemas import BaseRule, BonusRule, FirstPurchaseRule, MultiplierRule, Rule


def _money(minor: int, ruleset: RuleSet) -> str:
    return format_money(minor, ruleset.currency)


def _allocate(total: int, weights: Sequence[Fraction]) -> list[int]:
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
