"""Reads: journeys by id or code, runs, and a journey's figures.

The figures, per journey: runs entered (treated and held out); its messages by status —
``sent`` (the channel took it), ``delivered`` (sent and no ``email_bounced`` event names it),
``suppressed`` (no consent or address at send time), ``failed``, ``queued``; ``opened`` (an
``email_opened`` event names the message, or its inbox item was read) and ``clicked``
(``email_clicked``); and conversions: a run converts when its member buys between entering
and ``converts_until`` (entry + the journey's conversion window), and its revenue is what
those purchases came to. Conversions are counted for the treated runs and the held-out ones
alike, the two groups that lift compares.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, distinct, func, select
from sqlalchemy.orm import Session

from lojal.activities.models import Event, Purchase
from lojal.calendar import local_day
from lojal.errors import ProgramNotConfigured
from lojal.journeys.control import ControlSettings
from lojal.journeys.definition import JourneyDefinition
from lojal.journeys.errors import JourneyNotFound
from lojal.journeys.models import (
    ChannelPolicy,
    Journey,
    JourneyControl,
    JourneyMessage,
    JourneyRun,
)
from lojal.journeys.schemas import ControlRead, GroupFigures, JourneyFigures
from lojal.members.models import Member
from lojal.messaging.models import InboxItem, Message
from lojal.program import service as program_service
from lojal.segments import queries as segment_queries


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


def _group(session: Session, journey_id: int, held_out: bool) -> GroupFigures:
    runs = (
        select(
            JourneyRun.id, JourneyRun.member_id, JourneyRun.entered_at, JourneyRun.converts_until
        )
        .where(JourneyRun.journey_id == journey_id, JourneyRun.held_out.is_(held_out))
        .subquery()
    )
    count = session.scalar(select(func.count()).select_from(runs)) or 0
    bought = session.execute(
        select(
            func.count(distinct(runs.c.id)),
            func.count(Purchase.id),
            func.coalesce(func.sum(Purchase.total_minor), 0),
        )
        .select_from(runs)
        .join(
            Purchase,
            and_(
                Purchase.member_id == runs.c.member_id,
                Purchase.occurred_at >= runs.c.entered_at,
                Purchase.occurred_at < runs.c.converts_until,
            ),
        )
    ).one()
    return GroupFigures(
        runs=int(count),
        converted=int(bought[0]),
        purchases=int(bought[1]),
        revenue_minor=int(bought[2]),
    )


def figures(session: Session, journey: Journey, *, now: datetime) -> JourneyFigures:
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
    bounced = session.scalar(select(_engaged(journey.id, "email_bounced"))) or 0
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
    treated = _group(session, journey.id, False)
    control = _group(session, journey.id, True)
    try:
        currency = program_service.current(session).currency
    except ProgramNotConfigured:
        currency = "XXX"
    sent = int(statuses.get("sent", 0))
    return JourneyFigures(
        journey_id=journey.id,
        code=journey.code,
        entered=int(sum(states.values())),
        active=int(states.get("entered", 0) + states.get("waiting", 0)),
        held_out=int(states.get("held_out", 0)),
        sent=sent,
        delivered=max(sent - int(bounced), 0),
        suppressed=int(statuses.get("suppressed", 0)),
        failed=int(statuses.get("failed", 0)),
        queued=int(statuses.get("queued", 0)),
        opened=int(opened),
        clicked=int(clicked),
        converted=treated.converted,
        revenue_minor=treated.revenue_minor,
        currency=currency,
        treated=treated,
        control=control,
        at=now,
    )
