"""Reads: journeys by id or code, runs, and a journey's figures.

The figures, per journey: runs entered (treated and held out); its messages by status —
``sent`` (the channel took it), ``delivered`` (sent and no ``email_bounced`` event names it),
``suppressed`` (no consent or address at send time), ``failed``, ``queued``; ``opened`` (an
``email_opened`` event names the message, or its inbox item was read) and ``clicked``
(``email_clicked``); and conversions: a run converts when its member buys between entering
and ``converts_until`` (entry + the journey's conversion window), and its revenue is what
those purchases came to. Conversions are counted for the treated runs and the held-out ones
(the journey's holdout and the club's global control group, as each run was placed; exempt
runs are in neither) alike, the two groups that lift compares: per group one SQL aggregate
over the runs — ``COUNT``, ``SUM`` and ``SUM(x * x)`` of each run's purchases and revenue —
gives ``insight.lift.GroupSummary.from_sums``, and ``insight.lift.lift`` the lift and its
intervals, revenue in major units of the club's currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, String, and_, case, cast, distinct, func, select
from sqlalchemy.orm import Session

from lojal.activities.models import Event, Purchase
from lojal.calendar import local_day
from lojal.errors import ProgramNotConfigured
from lojal.i18n import minor_units
from lojal.insight.lift import (
    DEFAULT_CONFIDENCE,
    Comparison,
    GroupSummary,
    Interval,
    Lift,
    lift,
)
from lojal.journeys.control import ControlSettings, Placement
from lojal.journeys.definition import JourneyDefinition
from lojal.journeys.errors import JourneyNotFound
from lojal.journeys.models import (
    ChannelPolicy,
    Journey,
    JourneyControl,
    JourneyMessage,
    JourneyRun,
)
from lojal.journeys.schemas import (
    ComparisonRead,
    ControlRead,
    GroupFigures,
    IntervalRead,
    JourneyFigures,
    JourneyRead,
    JourneyRunRead,
    LiftRead,
    PolicyRead,
)
from lojal.members.models import Member
from lojal.messaging.models import InboxItem, Message
from lojal.program import service as program_service
from lojal.segments import queries as segment_queries

TREATED = (Placement.TREATED.value,)
HELD_OUT = (Placement.HOLDOUT.value, Placement.GLOBAL_CONTROL.value)


def get(session: Session, journey: int | str) -> Journey:
    """A journey by id or code."""
    found: Journey | None
    if isinstance(journey, int) or journey.isdigit():
        found = session.get(Journey, int(journey))
    else:
        found = session.scalar(select(Journey).where(Journey.code == journey))
    if found is None:
        raise JourneyNotFound(f"there is no journey {journey!r}")
    return found


def list_journeys(session: Session) -> list[Journey]:
    return list(session.scalars(select(Journey).order_by(Journey.id)))


def runs_page(
    session: Session, journey_id: int, *, after: int = 0, limit: int = 100
) -> list[JourneyRun]:
    return list(
        session.scalars(
            select(JourneyRun)
            .where(JourneyRun.journey_id == journey_id, JourneyRun.id > after)
            .order_by(JourneyRun.id)
            .limit(limit)
        )
    )


def runs_of_member(session: Session, member_id: int, limit: int = 200) -> list[JourneyRun]:
    return list(
        session.scalars(
            select(JourneyRun)
            .where(JourneyRun.member_id == member_id)
            .order_by(JourneyRun.id.desc())
            .limit(limit)
        )
    )


def policies(session: Session) -> list[ChannelPolicy]:
    return list(session.scalars(select(ChannelPolicy).order_by(ChannelPolicy.channel)))


def control(session: Session) -> JourneyControl | None:
    """The club's global control group as stored (None: never set, no group)."""
    return session.get(JourneyControl, 1)


def control_read(session: Session, *, now: datetime) -> ControlRead:
    """The global control group as ``GET /journey-control`` shows it (never its salt); one
    never set is 0 %, drawn today."""
    row = control(session)
    if row is None:
        today = local_day(now, segment_queries.club_zone(session))
        settings = ControlSettings(salt="-", percent=0.0, drawn_on=today)
    else:
        settings = ControlSettings(salt=row.salt, percent=row.percent, drawn_on=row.drawn_on)
    return control_of(settings, active_members(session))


def control_of(settings: ControlSettings, active: int) -> ControlRead:
    return ControlRead(
        percent=settings.percent,
        drawn_on=settings.drawn_on,
        earliest_reshuffle=settings.earliest_reshuffle,
        active_members=active,
        expected_members=round(active * settings.percent / 100),
    )


def active_members(session: Session) -> int:
    return int(
        session.scalar(select(func.count()).select_from(Member).where(Member.status == "active"))
        or 0
    )


def audience_size(session: Session, definition: JourneyDefinition, *, now: datetime) -> int:
    """How many members the journey's audience holds now (the segments' count of its
    audience definition; every active member without one): the estimate a holdout is
    sized against."""
    if definition.audience is None:
        return active_members(session)
    count, _ = segment_queries.preview(session, definition.audience, now=now, sample=0)
    return count


def _message_ids(journey_id: int) -> Any:
    return select(JourneyMessage.message_id).where(JourneyMessage.journey_id == journey_id)


def _message_keys(journey_id: int) -> Any:
    """The journey's message ids as text: an event's ``message_id`` is the integrator's data
    (a number, a string, anything), compared as text so that nothing in it can fail."""
    return select(cast(JourneyMessage.message_id, String)).where(
        JourneyMessage.journey_id == journey_id
    )


def _named_message() -> ColumnElement[Any]:
    return cast(Event.properties["message_id"].as_string(), String)


def _engaged(journey_id: int, event_type: str) -> ColumnElement[Any]:
    message_id = _named_message()
    return (
        select(func.count(distinct(message_id)))
        .where(Event.type == event_type, message_id.in_(_message_keys(journey_id)))
        .scalar_subquery()
    )


def _group(session: Session, journey_id: int, placements: tuple[str, ...], currency: str) -> Group:
    """One group's runs and, per run, its purchases in the conversion window: the sums
    ``insight.lift.GroupSummary.from_sums`` takes (``COUNT``, ``SUM`` and ``SUM(x * x)``
    over the runs, in SQL)."""
    per_run = (
        select(
            JourneyRun.id.label("run"),
            func.count(Purchase.id).label("purchases"),
            func.coalesce(func.sum(Purchase.total_minor), 0).label("revenue"),
        )
        .select_from(JourneyRun)
        .outerjoin(
            Purchase,
            and_(
                Purchase.member_id == JourneyRun.member_id,
                Purchase.occurred_at >= JourneyRun.entered_at,
                Purchase.occurred_at < JourneyRun.converts_until,
            ),
        )
        .where(JourneyRun.journey_id == journey_id, JourneyRun.placement.in_(placements))
        .group_by(JourneyRun.id)
        .subquery()
    )
    purchases = cast(per_run.c.purchases, Float)
    revenue = cast(per_run.c.revenue, Float)
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((per_run.c.purchases > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(per_run.c.purchases), 0),
            func.coalesce(func.sum(purchases * purchases), 0.0),
            func.coalesce(func.sum(per_run.c.revenue), 0),
            func.coalesce(func.sum(revenue * revenue), 0.0),
        ).select_from(per_run)
    ).one()
    unit = 10 ** minor_units(currency)
    runs, converted, bought, revenue_minor = int(row[0]), int(row[1]), int(row[2]), int(row[4])
    figures = GroupFigures(
        runs=runs,
        converted=converted,
        purchases=bought,
        revenue_minor=revenue_minor,
        revenue=revenue_minor / unit,
        conversion_rate=converted / runs if runs else None,
    )
    summary = GroupSummary.from_sums(
        members=runs,
        conversions=converted,
        purchases=float(bought),
        purchases_squared=float(row[3]),
        revenue=revenue_minor / unit,
        revenue_squared=float(row[5]) / (unit * unit),
    )
    return Group(figures, summary)


@dataclass(frozen=True)
class Group:
    figures: GroupFigures
    summary: GroupSummary


def _interval(interval: Interval | None) -> IntervalRead | None:
    return None if interval is None else IntervalRead(low=interval.low, high=interval.high)


def _comparison(c: Comparison) -> ComparisonRead:
    return ComparisonRead(
        treated=c.treated,
        control=c.control,
        difference=c.difference,
        difference_interval=_interval(c.difference_interval),
        relative=c.relative,
        relative_interval=_interval(c.relative_interval),
    )


def lift_read(found: Lift) -> LiftRead:
    return LiftRead(
        confidence=found.confidence,
        currency=found.currency,
        treated_members=found.treated_members,
        control_members=found.control_members,
        conversion=_comparison(found.conversion),
        purchases=_comparison(found.purchases),
        revenue=_comparison(found.revenue),
        incremental_revenue=found.incremental_revenue,
        incremental_revenue_interval=_interval(found.incremental_revenue_interval),
    )


def figures(
    session: Session,
    journey: Journey,
    *,
    now: datetime,
    confidence: float = DEFAULT_CONFIDENCE,
) -> JourneyFigures:
    states = dict(
        session.execute(
            select(JourneyRun.state, func.count())
            .where(JourneyRun.journey_id == journey.id)
            .group_by(JourneyRun.state)
        ).all()
    )
    statuses = dict(
        session.execute(
            select(Message.status, func.count())
            .where(Message.id.in_(_message_ids(journey.id)))
            .group_by(Message.status)
        ).all()
    )
    # bounces of messages the channel took (a refusal at send time is ``failed`` already)
    sent_keys = select(cast(Message.id, String)).where(
        Message.id.in_(_message_ids(journey.id)), Message.status == "sent"
    )
    bounced = (
        session.scalar(
            select(func.count(distinct(_named_message()))).where(
                Event.type == "email_bounced", _named_message().in_(sent_keys)
            )
        )
        or 0
    )
    opened_events = select(_named_message().label("message_id")).where(Event.type == "email_opened")
    inbox_read = select(cast(InboxItem.message_id, String).label("message_id")).where(
        InboxItem.read_at.is_not(None)
    )
    opened_ids = opened_events.union(inbox_read).subquery()
    opened = (
        session.scalar(
            select(func.count(distinct(opened_ids.c.message_id))).where(
                opened_ids.c.message_id.in_(_message_keys(journey.id))
            )
        )
        or 0
    )
    clicked = session.scalar(select(_engaged(journey.id, "email_clicked"))) or 0
    try:
        currency = program_service.current(session).currency
    except ProgramNotConfigured:
        currency = "XXX"
    treated = _group(session, journey.id, TREATED, currency)
    control = _group(session, journey.id, HELD_OUT, currency)
    found_lift = None
    if treated.figures.runs and control.figures.runs:
        found_lift = lift_read(
            lift(treated.summary, control.summary, currency=currency, confidence=confidence)
        )
    placed = dict(
        session.execute(
            select(JourneyRun.placement, func.count())
            .where(JourneyRun.journey_id == journey.id, JourneyRun.placement.is_not(None))
            .group_by(JourneyRun.placement)
        ).all()
    )
    sent = int(statuses.get("sent", 0))
    return JourneyFigures(
        journey_id=journey.id,
        code=journey.code,
        entered=int(sum(states.values())),
        active=int(states.get("entered", 0) + states.get("waiting", 0)),
        held_out=int(placed.get("holdout", 0) + placed.get("global_control", 0)),
        global_control=int(placed.get("global_control", 0)),
        exempt=int(placed.get("exempt", 0)),
        sent=sent,
        delivered=max(sent - int(bounced), 0),
        suppressed=int(statuses.get("suppressed", 0)),
        failed=int(statuses.get("failed", 0)),
        queued=int(statuses.get("queued", 0)),
        opened=int(opened),
        clicked=int(clicked),
        converted=treated.figures.converted,
        revenue_minor=treated.figures.revenue_minor,
        revenue=treated.figures.revenue,
        currency=currency,
        treated=treated.figures,
        control=control.figures,
        lift=found_lift,
        at=now,
    )


def journey_read(journey: Journey) -> JourneyRead:
    return JourneyRead(
        id=journey.id,
        code=journey.code,
        name=journey.name,
        trigger=journey.trigger_kind,
        enabled=journey.enabled,
        holdout_percent=journey.holdout_percent,
        revision=journey.revision,
        definition=journey.definition,
        swept_on=journey.swept_on.isoformat() if journey.swept_on else None,
        created_at=journey.created_at,
        updated_at=journey.updated_at,
    )


def run_read(run: JourneyRun, code: str) -> JourneyRunRead:
    return JourneyRunRead(
        id=run.id,
        journey_id=run.journey_id,
        journey=code,
        member_id=run.member_id,
        occasion=run.occasion,
        cause=run.cause,
        state=run.state,
        held_out=run.held_out,
        position=list(run.position),
        next_at=run.next_at,
        history=list(run.history),
        entered_at=run.entered_at,
        converts_until=run.converts_until,
        finished_at=run.finished_at,
    )


def policy_read(policy: ChannelPolicy) -> PolicyRead:
    return PolicyRead(
        channel=policy.channel,
        cap_messages=policy.cap_messages,
        cap_days=policy.cap_days,
        quiet_from=policy.quiet_from,
        quiet_until=policy.quiet_until,
        updated_at=policy.updated_at,
    )
