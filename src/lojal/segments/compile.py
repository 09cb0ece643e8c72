"""The SQL reader of a definition: one query over members, on SQLite and PostgreSQL.

``member_ids(definition, context)`` is ``SELECT members.id FROM members WHERE status =
'active' AND <the definition>``, where each measure is a correlated subquery over the member's
activity (``(SELECT count(*) FROM purchases WHERE purchases.member_id = members.id AND …)``,
served by the ``(member_id, occurred_at)`` indexes) and a ``top`` test one grouped, ranked
subquery over every member's activity. Comparisons are the condition language's own
(``lojal.conditions.compile.to_sql``), so an absent value satisfies nothing here as in memory
(``segments.evaluate``): every test is true or false, never SQL's unknown, and ``not``
agrees.

Restricted to some members (``only``: the members an activity touched), the ids go as one
parameter (a JSON array on SQLite, an array on PostgreSQL), so 10,000 members are one query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    FromClause,
    Select,
    and_,
    any_,
    bindparam,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement as _ColumnElement
from sqlalchemy.types import String

from lojal.activities.models import Event, Purchase, PurchaseLine, Return
from lojal.conditions.compile import Fields, to_sql
from lojal.conditions.model import Compare
from lojal.insight.models import MemberScore
from lojal.ledger.queries import balance_column
from lojal.members.models import Consent, Member
from lojal.memberships.models import Membership
from lojal.referrals.models import Referral
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
class Context:
    """What the SQL is compiled for: the moment, the club's zone, and the earliest year of
    enrolment in the club (where anniversaries start)."""

    now: datetime
    zone: tzinfo
    first_year: int
    dialect: str = "sqlite"


_m = Member.__table__.c
_p = Purchase.__table__.c
_l = PurchaseLine.__table__.c
_r = Return.__table__.c
_e = Event.__table__.c
_c = Consent.__table__.c
_ms = Membership.__table__.c
_ref = Referral.__table__.c
_sc = MemberScore.__table__.c
# Referrals that count as taking part: every one but those refused or voided.
COUNTED_REFERRALS = ("pending", "qualified", "rewarded", "capped")


# ---------------------------------------------------------------- member fields


def _consent(channel: str) -> ColumnElement[Any]:
    return (
        select(_c.granted)
        .where(_c.member_id == _m.id, _c.channel == channel)
        .order_by(_c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


# The computed measures (segments.fields.INSIGHT): the stored figures of the last refit.
_SCORES: dict[str, ColumnElement[Any]] = {
    "member.clv_minor": _sc.clv_minor,
    "member.p_alive": _sc.p_alive,
    "member.churn_risk": _sc.churn_risk,
    "member.expected_purchases": _sc.expected_purchases,
    "member.rfm.r": _sc.rfm_r,
    "member.rfm.f": _sc.rfm_f,
    "member.rfm.m": _sc.rfm_m,
    "member.rfm.group": _sc.rfm_group,
}


def member_fields() -> Fields:
    columns: dict[str, ColumnElement[Any]] = {
        "member.first_name": _m.first_name,
        "member.last_name": _m.last_name,
        "member.birth_date": _m.birth_date,
        "member.locale": _m.locale,
        "member.store_id": _m.store_id,
        "member.enrolment_channel": _m.enrolment_channel,
        "member.enrolled_at": _m.enrolled_at,
        "member.tier": _m.tier,
        "member.points": balance_column(_m.id, "available"),
        "member.points_pending": balance_column(_m.id, "pending"),
        "member.paid_membership": select(_ms.id)
        .where(_ms.member_id == _m.id, _ms.status == "active")
        .exists(),
        "member.referrals": select(func.count())
        .where(_ref.advocate_id == _m.id, _ref.status.in_(COUNTED_REFERRALS))
        .scalar_subquery(),
        "member.referred": select(_ref.id).where(_ref.referee_id == _m.id).exists(),
    }
    for channel in ("email", "sms", "push", "ads"):
        columns[f"member.consent.{channel}"] = _consent(channel)
    for path, column in _SCORES.items():
        columns[path] = select(column).where(_sc.member_id == _m.id).scalar_subquery()
    return Fields(columns=columns, json_columns={"member.attributes": _m.attributes})


# ---------------------------------------------------------------- activity


@dataclass(frozen=True)
class _Source:
    from_: FromClause
    member_id: ColumnElement[Any]
    occurred_at: ColumnElement[datetime]
    fields: Fields


_PURCHASE_COLUMNS: dict[str, ColumnElement[Any]] = {
    "purchase.order_id": _p.order_id,
    "purchase.channel": _p.channel,
    "purchase.store_id": _p.store_id,
    "purchase.total_minor": _p.total_minor,
}
_PURCHASE_JSON = {"purchase.attributes": _p.attributes}


def _sources() -> dict[str, _Source]:
    return {
        "purchases": _Source(
            Purchase.__table__,
            _p.member_id,
            _p.occurred_at,
            Fields(_PURCHASE_COLUMNS, _PURCHASE_JSON),
        ),
        "lines": _Source(
            PurchaseLine.__table__.join(Purchase.__table__, _p.id == _l.purchase_id),
            _p.member_id,
            _p.occurred_at,
            Fields(
                {
                    "line.sku": _l.sku,
                    "line.name": _l.name,
                    "line.category": _l.category,
                    "line.quantity": _l.quantity,
                    "line.unit_price_minor": _l.unit_price_minor,
                    "line.total_minor": _l.total_minor,
                    **_PURCHASE_COLUMNS,
                },
                _PURCHASE_JSON,
            ),
        ),
        "returns": _Source(
            Return.__table__.join(Purchase.__table__, _p.id == _r.purchase_id),
            _r.member_id,
            _r.occurred_at,
            Fields({"return.total_minor": _r.total_minor, **_PURCHASE_COLUMNS}),
        ),
        "events": _Source(
            Event.__table__,
            _e.member_id,
            _e.occurred_at,
            Fields(
                {"event.type": _e.type, "event.channel": _e.channel},
                {"event.properties": _e.properties},
            ),
        ),
    }


def _filters(m: Measure, source: _Source, ctx: Context) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if m.within is not None:
        out.extend(_in_bounds(source.occurred_at, timing.bounds(m.within, ctx.now, ctx.zone)))
    if m.where is not None:
        out.append(to_sql(m.where, source.fields))
    return out


def _in_bounds(column: ColumnElement[Any], span: timing.Bounds) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if span.start is not None:
        out.append(column >= span.start)
    if span.end is not None:
        out.append(column < span.end)
    return out


def _aggregate(m: Measure, source: _Source) -> ColumnElement[Any]:
    if m.measure == "count":
        return func.count()
    assert m.of is not None
    column = source.fields.columns[m.of]
    if m.measure == "distinct":
        return func.count(column.distinct())
    if m.measure == "sum":
        return func.coalesce(func.sum(column), 0)
    if m.measure == "avg":
        return cast(func.avg(column), Float)
    if m.measure == "min":
        return func.min(column)
    return func.max(column)


def measure_sql(m: Measure, ctx: Context) -> ColumnElement[Any]:
    """The member's measure, as a correlated subquery of a query over members."""
    source = _sources()[m.activity]
    return (
        select(_aggregate(m, source))
        .select_from(source.from_)
        .where(source.member_id == _m.id, *_filters(m, source, ctx))
        .scalar_subquery()
    )


def _compare(node: Compare, value: ColumnElement[Any]) -> ColumnElement[bool]:
    return to_sql(node, Fields(columns={"value": value}))


def _activity(node: Activity, ctx: Context) -> ColumnElement[bool]:
    m = node.as_measure
    source = _sources()[m.activity]
    if node.measure in ("exists", "none"):
        found = (
            select(literal(1))
            .select_from(source.from_)
            .where(source.member_id == _m.id, *_filters(m, source, ctx))
            .exists()
        )
        return found if node.measure == "exists" else not_(found)
    if node.measure in ("first", "last"):
        assert node.in_ is not None
        pick = func.min if node.measure == "first" else func.max
        at = (
            select(pick(source.occurred_at))
            .select_from(source.from_)
            .where(source.member_id == _m.id, *_filters(m, source, ctx))
            .scalar_subquery()
        )
        span = timing.bounds(node.in_, ctx.now, ctx.zone)
        return and_(at.is_not(None), *_in_bounds(at, span))
    return _compare(node.comparison, measure_sql(m, ctx))


def _ratio(node: Ratio, ctx: Context) -> ColumnElement[bool]:
    top = cast(measure_sql(node.ratio.numerator, ctx), Float)
    bottom = cast(func.nullif(measure_sql(node.ratio.denominator, ctx), 0), Float)
    return _compare(node.comparison, top / bottom)


def _top(node: Top, ctx: Context) -> ColumnElement[bool]:
    m = node.top.by
    source = _sources()[m.activity]
    population = Member.__table__.alias("population")
    grouped = (
        select(source.member_id.label("member_id"), _aggregate(m, source).label("value"))
        .select_from(source.from_.join(population, population.c.id == source.member_id))
        .where(population.c.status == "active", *_filters(m, source, ctx))
        .group_by(source.member_id)
        .subquery("grouped")
    )
    ranked = (
        select(
            grouped.c.member_id,
            func.rank().over(order_by=grouped.c.value.desc()).label("place"),
            func.count().over().label("everyone"),
        )
        .where(grouped.c.value.is_not(None))
        .subquery("ranked")
    )
    return _m.id.in_(
        select(ranked.c.member_id).where(
            (ranked.c.place - 1) * 100 < literal(float(node.top.percent)) * ranked.c.everyone
        )
    )


# ---------------------------------------------------------------- dates


class _MonthDay(_ColumnElement[str]):
    """A date's ``MM-DD``."""

    inherit_cache = True
    type = String()

    def __init__(self, expr: ColumnElement[Any]) -> None:
        self.expr = expr


@compiles(_MonthDay)
def _month_day_sqlite(element: _MonthDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strftime('%m-%d', {compiler.process(element.expr, **kw)})"


@compiles(_MonthDay, "postgresql")
def _month_day_pg(element: _MonthDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.expr, **kw)}, 'MM-DD')"


def _date_in(node: DateIn, ctx: Context) -> ColumnElement[bool]:
    if node.date == "member.enrolled_at":
        return and_(
            true(), *_in_bounds(_m.enrolled_at, timing.bounds(node.within, ctx.now, ctx.zone))
        )
    first, last = timing.local_dates(node.within, ctx.now, ctx.zone)
    parts: list[ColumnElement[bool]] = [_m.birth_date.is_not(None)]
    if first is not None:
        parts.append(_m.birth_date >= first)
    if last is not None:
        parts.append(_m.birth_date <= last)
    return and_(*parts)


def _birthday(node: Birthday, ctx: Context) -> ColumnElement[bool]:
    days = timing.days(node.birthday, ctx.now, ctx.zone)
    return and_(
        _m.birth_date.is_not(None),
        _MonthDay(_m.birth_date).in_(timing.birthday_month_days(days)),
    )


def _anniversary(node: Anniversary, ctx: Context) -> ColumnElement[bool]:
    days = timing.days(node.anniversary, ctx.now, ctx.zone)
    ranges = timing.anniversary_ranges(days, ctx.first_year, ctx.zone)
    return or_(false(), *(and_(true(), *_in_bounds(_m.enrolled_at, r)) for r in ranges))


# ---------------------------------------------------------------- the tree


def to_sql_definition(node: Definition, ctx: Context) -> ColumnElement[bool]:
    if isinstance(node, SegmentAll):
        return and_(true(), *(to_sql_definition(child, ctx) for child in node.all))
    if isinstance(node, SegmentAny):
        return or_(false(), *(to_sql_definition(child, ctx) for child in node.any))
    if isinstance(node, SegmentNot):
        return not_(to_sql_definition(node.not_, ctx))
    if isinstance(node, MemberField):
        return to_sql(node, member_fields())
    if isinstance(node, DateIn):
        return _date_in(node, ctx)
    if isinstance(node, Birthday):
        return _birthday(node, ctx)
    if isinstance(node, Anniversary):
        return _anniversary(node, ctx)
    if isinstance(node, Activity):
        return _activity(node, ctx)
    if isinstance(node, Ratio):
        return _ratio(node, ctx)
    if isinstance(node, Top):
        return _top(node, ctx)
    raise AssertionError(type(node))


def ids_in(
    column: ColumnElement[Any] | QueryableAttribute[Any], ids: Sequence[int], dialect: str
) -> ColumnElement[bool]:
    """``column IN ids`` with the ids as one parameter, however many there are."""
    if dialect == "postgresql":
        return column == any_(bindparam("only_ids", list(ids), type_=ARRAY(BigInteger)))
    listed = func.json_each(bindparam("only_ids", json.dumps(list(ids)))).table_valued("value")
    return column.in_(select(listed.c.value))


def member_ids(
    definition: Definition, ctx: Context, *, only: Sequence[int] | None = None
) -> Select[Any]:
    """The ids of the active members the definition holds for (among ``only``, if given)."""
    query = select(_m.id).where(_m.status == "active")
    if only is not None:
        query = query.where(ids_in(_m.id, only, ctx.dialect))
    return query.where(to_sql_definition(definition, ctx))
