"""The in-memory reader of a definition: whether one member is in a segment, from their facts.

It gives the answer the SQL of ``segments.compile`` gives (a hypothesis test checks both on
random activity and definitions). Facts are plain values (``MemberFacts``, loaded by
``segments.queries.facts_of``): each row of activity is the mapping the condition language's
``matches()`` reads (``{"purchase": {...}, "line": {...}}``) with the moment it happened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from lojal.calendar import local_day
from lojal.conditions.evaluate import MISSING, lookup, matches
from lojal.conditions.model import Compare
from lojal.segments import timing
from lojal.segments.definition import (
    Activity,
    Anniversary,
    Birthday,
    DateIn,
    Definition,
    Measure,
    MemberField,
    Ratio,
    SegmentAll,
    SegmentAny,
    SegmentNot,
    Top,
)


@dataclass(frozen=True, slots=True)
class Row:
    occurred_at: datetime
    context: Mapping[str, Any]


@dataclass(frozen=True)
class MemberFacts:
    member_id: int
    active: bool
    enrolled_at: datetime
    birth_date: date | None
    member: Mapping[str, Any]  # {"member": {...}}: what ``field`` tests read
    activity: Mapping[str, Sequence[Row]] = field(default_factory=dict)


@dataclass(frozen=True)
class Population:
    """Every member's facts, for the ``top`` tests (a percentile needs the others)."""

    members: Sequence[MemberFacts]


def evaluate(
    definition: Definition,
    facts: MemberFacts,
    *,
    now: datetime,
    zone: tzinfo,
    population: Population | None = None,
) -> bool:
    """Whether the member is in the segment at ``now``. A member who is not active (closed,
    merged) is in no segment."""
    if not facts.active:
        return False
    return _holds(definition, facts, now, zone, population)


def _holds(
    node: Definition, facts: MemberFacts, now: datetime, zone: tzinfo, population: Population | None
) -> bool:
    if isinstance(node, SegmentAll):
        return all(_holds(child, facts, now, zone, population) for child in node.all)
    if isinstance(node, SegmentAny):
        return any(_holds(child, facts, now, zone, population) for child in node.any)
    if isinstance(node, SegmentNot):
        return not _holds(node.not_, facts, now, zone, population)
    if isinstance(node, MemberField):
        return matches(node, facts.member)
    if isinstance(node, DateIn):
        if node.date == "member.enrolled_at":
            return timing.bounds(node.within, now, zone).holds(facts.enrolled_at)
        if facts.birth_date is None:
            return False
        first, last = timing.local_dates(node.within, now, zone)
        return (first is None or first <= facts.birth_date) and (
            last is None or facts.birth_date <= last
        )
    if isinstance(node, Birthday):
        if facts.birth_date is None:
            return False
        return timing.is_birthday(facts.birth_date, timing.days(node.birthday, now, zone))
    if isinstance(node, Anniversary):
        enrolled = local_day(facts.enrolled_at, zone)
        return timing.is_anniversary(enrolled, timing.days(node.anniversary, now, zone))
    if isinstance(node, Activity):
        return _activity(node, facts, now, zone)
    if isinstance(node, Ratio):
        top = measure(node.ratio.numerator, facts, now, zone)
        bottom = measure(node.ratio.denominator, facts, now, zone)
        if top is None or not bottom:
            return False
        return _compare(node.comparison, float(top) / float(bottom))
    if isinstance(node, Top):
        if population is None:
            raise ValueError("a 'top' test needs the population of members")
        return _in_top(node, facts, now, zone, population)
    raise AssertionError(type(node))


def rows(m: Measure, facts: MemberFacts, now: datetime, zone: tzinfo) -> list[Row]:
    """The member's rows of the measure's kind that its window and condition admit."""
    span = timing.bounds(m.within, now, zone) if m.within is not None else None
    out = []
    for row in facts.activity.get(m.activity, ()):
        if span is not None and not span.holds(row.occurred_at):
            continue
        if m.where is not None and not matches(m.where, row.context):
            continue
        out.append(row)
    return out


def _number(row: Row, path: str) -> int | float | None:
    value = lookup(row.context, path)
    if value is MISSING or value is None or isinstance(value, bool):
        return None
    return value if isinstance(value, (int, float)) else None


def measure(m: Measure, facts: MemberFacts, now: datetime, zone: tzinfo) -> int | float | None:
    """The measure's value for the member (None: absent, as an average of nothing)."""
    found = rows(m, facts, now, zone)
    if m.measure == "count":
        return len(found)
    assert m.of is not None
    if m.measure == "distinct":
        values = {lookup(r.context, m.of) for r in found}
        return len({v for v in values if v is not MISSING and v is not None})
    numbers = [n for r in found if (n := _number(r, m.of)) is not None]
    if m.measure == "sum":
        return sum(numbers)
    if not numbers:
        return None
    if m.measure == "avg":
        return sum(numbers) / len(numbers)
    if m.measure == "min":
        return min(numbers)
    return max(numbers)


def _compare(node: Compare, value: int | float | None) -> bool:
    return matches(node, {"value": value})


def _activity(node: Activity, facts: MemberFacts, now: datetime, zone: tzinfo) -> bool:
    if node.measure in ("exists", "none", "first", "last"):
        found = rows(node.as_measure, facts, now, zone)
        if node.measure == "exists":
            return bool(found)
        if node.measure == "none":
            return not found
        if not found:
            return False
        moments = [r.occurred_at for r in found]
        at = min(moments) if node.measure == "first" else max(moments)
        assert node.in_ is not None
        return timing.bounds(node.in_, now, zone).holds(at)
    return _compare(node.comparison, measure(node.as_measure, facts, now, zone))


def _in_top(
    node: Top, facts: MemberFacts, now: datetime, zone: tzinfo, population: Population
) -> bool:
    values: dict[int, int | float] = {}
    for each in population.members:
        if not each.active or not rows(node.top.by, each, now, zone):
            continue
        value = measure(node.top.by, each, now, zone)
        if value is not None:
            values[each.member_id] = value
    mine = values.get(facts.member_id)
    if mine is None:
        return False
    higher = sum(1 for v in values.values() if v > mine)
    return higher * 100 < node.top.percent * len(values)
