"""A segment's definition: a member-level condition a marketer can read, with two readers.

A definition is JSON. It combines, with ``all`` / ``any`` / ``not``, tests of six kinds::

    {"all": [
        {"field": "member.consent.email", "op": "eq", "value": true},
        {"activity": "purchases", "within": {"last_days": 365},
         "measure": "count", "op": "gte", "value": 2},
        {"activity": "returns", "measure": "none"},
        {"ratio": {"numerator": {"activity": "events", "measure": "count",
                                 "where": {"field": "event.type", "op": "eq",
                                           "value": "email_click"}},
                   "denominator": {"activity": "events", "measure": "count",
                                   "where": {"field": "event.type", "op": "eq",
                                             "value": "email_open"}}},
         "op": "gte", "value": 0.2},
        {"not": {"birthday": {"in_days": [0, 7]}}}
    ]}

* ``field`` — a comparison of the condition language (``lojal.conditions``) on the member:
  ``member.tier``, ``member.points``, ``member.consent.email``, ``member.attributes.<key>``, …
  (``segments.fields.MEMBER``), with the language's operators and its rule that an absent
  value never satisfies a comparison. The computed measures are member fields too, read from
  the figures the last refit stored (``lojal.insight``): ``member.clv_minor``,
  ``member.p_alive``, ``member.churn_risk``, ``member.expected_purchases``,
  ``member.rfm.r`` / ``.f`` / ``.m`` (1-5) and ``member.rfm.group`` (``champions``, …); a
  member the refit did not score has none of them.
* ``date`` — a date of the member in a window: ``{"date": "member.enrolled_at", "within":
  {"last_days": 30}}``.
* ``activity`` — a *measure* over the member's activity of one kind (``purchases``,
  ``lines``, ``returns``, ``events``), restricted by a condition on the activity (``where``, a
  condition of the language over that kind's fields) and a window (``within``):
  ``count``, ``sum`` / ``avg`` / ``min`` / ``max`` of a number (``of``), ``distinct`` (how many
  different values of ``of``), compared with ``op`` and ``value``; ``first`` / ``last`` (the
  date of the first / last matching activity) in a window (``in``); ``exists`` / ``none``. A
  count, sum or distinct of nothing is 0; an average, minimum, maximum, first or last of
  nothing is absent, so it satisfies no comparison.
* ``ratio`` — one measure divided by another (click-through: clicks per open), compared; a
  ratio over a zero denominator is absent.
* ``birthday`` / ``anniversary`` — the member's birthday or membership anniversary (the
  local day of enrolment, one year or more ago) falls within ``in_days: [from, to]`` days of
  today (0 is today, 7 a week ahead; negative: the days before). A birthday on 29 February is
  celebrated on 28 February in years that have none.
* ``top`` — the member is in the top ``percent`` % of the members who have any matching
  activity, by a measure (``by``); ties are in together: a member is in when fewer than
  ``percent`` % of them have a strictly higher value.

Windows are days in the club's time zone (``lojal.calendar``): ``{"last_days": 90}`` is today
and the 89 days before it; ``{"days_ago": [30, 60]}`` the days from 60 to 30 days ago (both
included; ``[91, null]``: 91 days ago or earlier); ``{"from": "2026-01-01", "until":
"2026-03-31"}`` local dates, both included, either may be left out.

The two readers give the same answer for every member: ``segments.compile`` turns a definition
into one SQL query over members (SQLite and PostgreSQL), ``segments.evaluate`` decides it in
memory from one member's facts.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lojal.conditions.model import AllOf as ConditionAll
from lojal.conditions.model import Compare, Condition, Operator
from lojal.segments import fields as catalogue

Source = Literal["purchases", "lines", "returns", "events"]
MeasureKind = Literal["count", "sum", "avg", "min", "max", "distinct"]
ActivityMeasure = Literal[
    "count", "sum", "avg", "min", "max", "distinct", "first", "last", "exists", "none"
]
NUMBER_OPS: tuple[Operator, ...] = ("eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in")
MAX_DAYS = 36_600


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DayWindow(_Node):
    """Local days, relative to today or absolute (see the module docstring)."""

    last_days: int | None = Field(None, ge=1, le=MAX_DAYS)
    days_ago: tuple[int, int | None] | None = None
    from_: date | None = Field(None, alias="from")
    until: date | None = None

    @model_validator(mode="after")
    def _one_way(self) -> DayWindow:
        ways = [self.last_days is not None, self.days_ago is not None]
        ways.append(self.from_ is not None or self.until is not None)
        if sum(ways) != 1:
            raise ValueError("a window is one of last_days, days_ago, or from/until")
        if self.days_ago is not None:
            low, high = self.days_ago
            if not 0 <= low <= MAX_DAYS or (high is not None and not low <= high <= MAX_DAYS):
                raise ValueError("days_ago is [fewest, most] days ago, 0 <= fewest <= most")
        if self.from_ is not None and self.until is not None and self.from_ > self.until:
            raise ValueError("'from' is after 'until'")
        return self

    @property
    def relative(self) -> bool:
        """Whether the window moves with today (so a segment using it changes with time)."""
        return self.last_days is not None or self.days_ago is not None


class Measure(_Node):
    """A number computed over a member's activity of one kind."""

    activity: Source
    where: Condition | None = None
    within: DayWindow | None = None
    measure: MeasureKind = "count"
    of: str | None = None

    @model_validator(mode="after")
    def _fields_known(self) -> Measure:
        check_measure(self.activity, self.where, self.measure, self.of)
        return self


def check_measure(source: Source, where: Condition | None, measure: str, of: str | None) -> None:
    known = catalogue.SOURCES[source]
    if where is not None and (refusal := known.refusal(where)) is not None:
        raise ValueError(f"where: {refusal}")
    if measure in ("sum", "avg", "min", "max"):
        if of is None:
            raise ValueError(
                f"'{measure}' needs 'of': one of {', '.join(catalogue.NUMBERS[source])}"
            )
        if of not in catalogue.NUMBERS[source]:
            raise ValueError(
                f"of: {of!r} is not a number of {source}; "
                f"numbers: {', '.join(catalogue.NUMBERS[source])}"
            )
    elif measure == "distinct":
        if of is None or of not in catalogue.DISTINCT[source]:
            raise ValueError(
                f"of: 'distinct' counts one of {', '.join(catalogue.DISTINCT[source])}"
            )
    elif of is not None:
        raise ValueError(f"'{measure}' takes no 'of'")


def _check_comparison(op: Operator | None, value: Any) -> Compare | None:
    if op is None:
        return None
    if op not in NUMBER_OPS:
        raise ValueError(f"op: a measure compares with one of {', '.join(NUMBER_OPS)}")
    values = value if isinstance(value, list) else [value]
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise ValueError("value: a measure is compared with numbers")
    return Compare(field="value", op=op, value=value)


class Activity(_Node):
    """A measure of the member's activity, tested."""

    activity: Source
    where: Condition | None = None
    within: DayWindow | None = None
    measure: ActivityMeasure = "count"
    of: str | None = None
    op: Operator | None = None
    value: Any = None
    in_: DayWindow | None = Field(None, alias="in")

    @model_validator(mode="after")
    def _coherent(self) -> Activity:
        if self.measure in ("exists", "none", "first", "last"):
            check_measure(self.activity, self.where, "count", self.of)
            if self.op is not None or self.value is not None:
                raise ValueError(f"'{self.measure}' takes no op or value")
            if self.measure in ("first", "last") and self.in_ is None:
                raise ValueError(f"'{self.measure}' needs 'in': the window its date lies in")
            if self.measure in ("exists", "none") and self.in_ is not None:
                raise ValueError(f"'{self.measure}' takes no 'in' (use 'within')")
            return self
        check_measure(self.activity, self.where, self.measure, self.of)
        if self.in_ is not None:
            raise ValueError("'in' goes with first or last; a number is compared with op/value")
        if self.op is None:
            raise ValueError(f"'{self.measure}' needs op and value")
        _check_comparison(self.op, self.value)
        return self

    @property
    def as_measure(self) -> Measure:
        kind: MeasureKind = self.measure if self.measure in _NUMERIC else "count"  # type: ignore[assignment]
        return Measure(
            activity=self.activity, where=self.where, within=self.within, measure=kind, of=self.of
        )

    @property
    def comparison(self) -> Compare:
        compare = _check_comparison(self.op, self.value)
        assert compare is not None
        return compare


_NUMERIC = ("count", "sum", "avg", "min", "max", "distinct")


class RatioParts(_Node):
    numerator: Measure
    denominator: Measure


class Ratio(_Node):
    ratio: RatioParts
    op: Operator
    value: Any

    @model_validator(mode="after")
    def _comparable(self) -> Ratio:
        _check_comparison(self.op, self.value)
        return self

    @property
    def comparison(self) -> Compare:
        compare = _check_comparison(self.op, self.value)
        assert compare is not None
        return compare


class DateIn(_Node):
    date: Literal["member.enrolled_at", "member.birth_date"]
    within: DayWindow


class Days(_Node):
    in_days: tuple[int, int]

    @field_validator("in_days")
    @classmethod
    def _span(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if not -366 <= low <= high <= 366:
            raise ValueError("in_days is [from, to] days from today, -366 <= from <= to <= 366")
        return value


class Birthday(_Node):
    birthday: Days


class Anniversary(_Node):
    anniversary: Days


class TopParts(_Node):
    percent: float = Field(gt=0, le=100)
    by: Measure


class Top(_Node):
    top: TopParts


class MemberField(Compare):
    """A comparison on the member (``lojal.conditions``' ``Compare``, on member fields)."""

    @field_validator("field")
    @classmethod
    def _member_field(cls, value: str, info: ValidationInfo) -> str:
        if not catalogue.MEMBER.knows(value):
            raise ValueError(catalogue.MEMBER.unknown_field(value))
        return value


class SegmentAll(_Node):
    all: list[Definition]


class SegmentAny(_Node):
    any: list[Definition]


class SegmentNot(_Node):
    not_: Definition = Field(alias="not")


_KEYS = (
    "all",
    "any",
    "not",
    "field",
    "date",
    "birthday",
    "anniversary",
    "activity",
    "ratio",
    "top",
)
_CLASSES: dict[type[BaseModel], str] = {}


def _kind(data: Any) -> str | None:
    if isinstance(data, dict):
        for key in _KEYS:
            if key in data:
                return key
        return None
    return _CLASSES.get(type(data))


Definition = Annotated[
    Annotated[SegmentAll, Tag("all")]
    | Annotated[SegmentAny, Tag("any")]
    | Annotated[SegmentNot, Tag("not")]
    | Annotated[MemberField, Tag("field")]
    | Annotated[DateIn, Tag("date")]
    | Annotated[Birthday, Tag("birthday")]
    | Annotated[Anniversary, Tag("anniversary")]
    | Annotated[Activity, Tag("activity")]
    | Annotated[Ratio, Tag("ratio")]
    | Annotated[Top, Tag("top")],
    Discriminator(
        _kind,
        custom_error_type="invalid_definition",
        custom_error_message=("a segment test has one of the keys " + ", ".join(_KEYS)),
    ),
]

_CLASSES.update(
    {
        SegmentAll: "all",
        SegmentAny: "any",
        SegmentNot: "not",
        MemberField: "field",
        DateIn: "date",
        Birthday: "birthday",
        Anniversary: "anniversary",
        Activity: "activity",
        Ratio: "ratio",
        Top: "top",
    }
)
SegmentAll.model_rebuild()
SegmentAny.model_rebuild()
SegmentNot.model_rebuild()


class _Holder(BaseModel):
    definition: Definition


def parse_definition(data: Any) -> Definition:
    """Validate JSON-like data into a definition (raises pydantic's ValidationError)."""
    return _Holder.model_validate({"definition": data}).definition


def dump_definition(definition: Definition) -> dict[str, Any]:
    """The definition as JSON data: what was given, without the defaults it did not give."""
    data: dict[str, Any] = definition.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return data


# ---------------------------------------------------------------- what a definition reads


def children(node: Definition) -> list[Definition]:
    if isinstance(node, SegmentAll):
        return list(node.all)
    if isinstance(node, SegmentAny):
        return list(node.any)
    if isinstance(node, SegmentNot):
        return [node.not_]
    return []


def walk(node: Definition) -> list[Definition]:
    """Every node of the tree, the root first."""
    out = [node]
    for child in children(node):
        out.extend(walk(child))
    return out


def measures_of(node: Definition) -> list[Measure]:
    out: list[Measure] = []
    for each in walk(node):
        if isinstance(each, Activity):
            out.append(each.as_measure)
        elif isinstance(each, Ratio):
            out.extend((each.ratio.numerator, each.ratio.denominator))
        elif isinstance(each, Top):
            out.append(each.top.by)
    return out


def _event_types(where: Condition | None) -> set[str] | None:
    """The event types a condition is restricted to (a top-level ``event.type`` eq/in, alone
    or in an ``all``); None when it may match any type."""

    parts = [where] if not isinstance(where, ConditionAll) else list(where.all)
    for part in parts:
        if isinstance(part, Compare) and part.field == "event.type":
            if part.op == "eq" and isinstance(part.value, str):
                return {part.value}
            if part.op == "in" and all(isinstance(v, str) for v in part.value):
                return set(part.value)
    return None


def reads(node: Definition) -> list[str]:
    """What the definition reads, as the words live updates and sweeps go by: ``purchases``,
    ``lines``, ``returns``, ``events`` (any type) or ``event:<type>``, ``tier``, ``points``,
    ``membership``, ``referrals``, ``profile`` (names, attributes, consents, birth date:
    changed without an activity), ``insight`` (the stored figures: changed by a refit),
    ``time`` (relative windows, birthdays, anniversaries),
    ``population`` (a top percentile: one member's activity moves the others)."""
    out: set[str] = set()
    for each in walk(node):
        if isinstance(each, MemberField):
            out.add(catalogue.member_read(each.field))
        elif isinstance(each, DateIn):
            out.add("profile")
            if each.within.relative:
                out.add("time")
        elif isinstance(each, (Birthday, Anniversary)):
            out.update(("time", "profile"))
        elif isinstance(each, Activity) and each.in_ is not None and each.in_.relative:
            out.add("time")
        elif isinstance(each, Top):
            out.add("population")
    for measure in measures_of(node):
        if measure.within is not None and measure.within.relative:
            out.add("time")
        if measure.activity == "events":
            types = _event_types(measure.where)
            if types is None:
                out.add("events")
            else:
                out.update(f"event:{t}" for t in types)
        else:
            out.add(measure.activity)
    return sorted(out)
