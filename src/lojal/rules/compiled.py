"""A ruleset prepared for evaluation: which rules are in force at a time, their conditions
compiled once, the texts the explanation is made of, and the exact rational rate of each
combination of base rule and multipliers (``CompiledRuleSet``). ``compile_ruleset`` keeps one
per ruleset object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from lojal.conditions.evaluate import Predicate, compile_condition
from lojal.conditions.model import Compare
from lojal.rules.context import field_getter
from lojal.rules.facts import RuleSet
from lojal.rules.schemas import BaseRule, BonusRule, FirstPurchaseRule, MultiplierRule, Rule


def in_force(rule: Rule, at: datetime) -> bool:
    if rule.valid_from is not None and at < _aware(rule.valid_from):
        return False
    return not (rule.valid_until is not None and at >= _aware(rule.valid_until))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def fmt_decimal(value: Decimal | Fraction) -> str:
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return format(value.normalize(), "f")


def describe_when(rule: Rule) -> str:
    """A short label for a rule without a name: 'on coffee' for a single category condition."""
    when = rule.when
    if isinstance(when, Compare) and when.op in ("eq", "in"):
        values = when.value if isinstance(when.value, list) else [when.value]
        return "on " + ", ".join(str(v) for v in values)
    return ""


@dataclass(frozen=True, slots=True)
class Plan:
    bases: list[tuple[Predicate | None, int]]
    multipliers: list[tuple[Predicate | None, int]]
    line_rules: list[tuple[Rule, int, bool]]
    order_rules: list[tuple[BonusRule | FirstPurchaseRule, Predicate | None]]


class CompiledRuleSet:
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
                per = "" if rule.per == 1 else f"{fmt_decimal(rule.per)} "
                self.texts[pos] = f"{fmt_decimal(rule.points)} per {per}{ruleset.currency} on "
            elif isinstance(rule, MultiplierRule):
                label = rule.name or describe_when(rule)
                self.texts[pos] = f"×{fmt_decimal(rule.factor)} {label}".rstrip()
        self.when: dict[int, Predicate] = {
            id(rule): compile_condition(rule.when, field_getter)
            for rule in self.rules
            if rule.when is not None
        }
        self._plans: dict[tuple[bool, ...], Plan] = {}
        self._coefficients: dict[tuple[int, tuple[int, ...]], tuple[tuple[int, int, int], ...]] = {}

    def plan(self, at: datetime) -> Plan:
        """The rules in force at ``at``, sorted by what they do (cached per set of rules)."""
        key = tuple(in_force(rule, at) for rule in self.rules) if self.windowed else ()
        found = self._plans.get(key)
        if found is None:
            active = [r for r in self.rules if in_force(r, at)] if self.windowed else self.rules
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
            found = Plan(
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


_compiled: dict[int, CompiledRuleSet] = {}


def compile_ruleset(ruleset: RuleSet) -> CompiledRuleSet:
    held = _compiled.get(id(ruleset))
    if held is None or held.ruleset is not ruleset:
        if len(_compiled) > 64:
            _compiled.clear()
        held = CompiledRuleSet(ruleset)
        _compiled[id(ruleset)] = held
    return held
