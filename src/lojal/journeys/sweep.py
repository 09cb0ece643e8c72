"""Date triggers: the daily sweep, in the club's time zone, as SQL over the members table.

For each enabled journey with a date trigger whose last sweep was not today (local), one
``INSERT INTO journey_runs … SELECT members.id FROM members WHERE <trigger> AND <audience>``
enters every member it fires for, and one ``INSERT INTO jobs … SELECT`` queues their first
step (``journeys.entry``): no loop over members in Python, so a club of a million members is
two statements per journey. The trigger is a segment definition where the segment language
says it (``lojal.segments.compile``):

* ``birthday``: ``{birthday: {in_days: [0, 0]}}`` — a birthday on 29 February is celebrated on
  28 February in a year without one;
* ``anniversary``: ``{anniversary: {in_days: [0, 0]}}`` — the local day of enrolment, one
  year or more ago;
* ``days_since_last_purchase`` N: the last purchase was on the local day N days ago;
* ``survey_unanswered`` N: the last ``survey_sent`` event was N days ago and no
  ``survey_answered`` came since;

and SQL of its own for what the language does not read:

* ``points_expiring`` N: points of an open lot expire on the local day N days from today;
* ``renewal_due`` N: an active paid membership renews on the local day N days from today.

The occasion of a run is ``once`` or the local day (``date:2026-03-02``): a sweep run twice
on a day, or by two workers, enters nobody twice. Days are the club's
(``lojal.calendar``): a day across a change of daylight saving is 23 or 25 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from lojal.calendar import day_window, local_day
from lojal.conditions.model import Compare
from lojal.journeys.definition import DATE_TRIGGERS, JourneyDefinition, Trigger
from lojal.journeys.entry import ONCE, definition_of, runs_from_select
from lojal.journeys.models import Journey
from lojal.ledger.models import PointLot
from lojal.members.models import Member
from lojal.memberships.models import Membership
from lojal.segments import queries as segment_queries
from lojal.segments.compile import member_ids
from lojal.segments.definition import (
    Activity,
    Anniversary,
    Birthday,
    Days,
    DayWindow,
    Definition,
    SegmentAll,
)

_m = Member.__table__.c
_lot = PointLot.__table__.c
_ms = Membership.__table__.c


def trigger_definition(trigger: Trigger) -> Definition | None:
    """The trigger as a segment definition, where the language has one."""
    today = Days(in_days=(0, 0))
    if trigger.kind == "birthday":
        return Birthday(birthday=today)
    if trigger.kind == "anniversary":
        return Anniversary(anniversary=today)
    if trigger.kind == "days_since_last_purchase":
        assert trigger.days is not None
        return Activity(
            activity="purchases",
            measure="last",
            in_=DayWindow(days_ago=(trigger.days, trigger.days)),
        )
    if trigger.kind == "survey_unanswered":
        assert trigger.days is not None
        return SegmentAll(
            all=[
                Activity(
                    activity="events",
                    where=Compare(field="event.type", op="eq", value=trigger.sent_type),
                    measure="last",
                    in_=DayWindow(days_ago=(trigger.days, trigger.days)),
                ),
                Activity(
                    activity="events",
                    where=Compare(field="event.type", op="eq", value=trigger.answered_type),
                    within=DayWindow(last_days=trigger.days + 1),
                    measure="none",
                ),
            ]
        )
    return None


def extra_condition(trigger: Trigger, today: date, zone: tzinfo) -> ColumnElement[bool] | None:
    """The trigger's own SQL on ``members``, for what the segment language does not read."""
    if trigger.kind not in ("points_expiring", "renewal_due"):
        return None
    assert trigger.days is not None
    start, end = day_window(today + timedelta(days=trigger.days), zone)
    if trigger.kind == "points_expiring":
        return (
            select(_lot.id)
            .where(
                _lot.member_id == _m.id,
                _lot.state != "closed",
                _lot.remaining > 0,
                _lot.expires_at >= start,
                _lot.expires_at < end,
            )
            .exists()
        )
    return (
        select(_ms.id)
        .where(
            _ms.member_id == _m.id,
            _ms.status == "active",
            _ms.renews_at >= start,
            _ms.renews_at < end,
        )
        .exists()
    )


def members_query(
    session: Session, definition: JourneyDefinition, now: datetime
) -> tuple[Any, date]:
    """``SELECT members.id`` of the active members the trigger fires for today, in the
    audience; and today (local)."""
    zone = segment_queries.club_zone(session)
    today = local_day(now, zone)
    parts = [d for d in (trigger_definition(definition.trigger), definition.audience) if d]
    combined: Definition = SegmentAll(all=parts)
    ctx = segment_queries.context(session, now, combined)
    query = member_ids(combined, ctx)
    extra = extra_condition(definition.trigger, today, zone)
    if extra is not None:
        query = query.where(and_(extra))
    return query, today


@dataclass(frozen=True, slots=True)
class Swept:
    journey_id: int
    code: str
    entered: int
    day: date


def sweep_journey(
    session: Session, journey: Journey, *, now: datetime, force: bool = False
) -> Swept | None:
    """Enter the members the journey's date trigger fires for today; None when it was swept
    today already (``force``: sweep again — nobody enters twice)."""
    if journey.swept_on == local_day(now, segment_queries.club_zone(session)) and not force:
        return None
    definition = definition_of(journey)
    query, today = members_query(session, definition, now)
    cause = f"date:{today.isoformat()}"
    occasion = ONCE if definition.once_per_member else cause
    entered = runs_from_select(
        session, journey, definition, query, occasion=occasion, cause=cause, now=now
    )
    journey.swept_on = today
    session.flush()
    return Swept(journey.id, journey.code, entered, today)


def due(session: Session) -> list[int]:
    """The enabled journeys with a date trigger (their ids)."""
    return list(
        session.scalars(
            select(Journey.id)
            .where(Journey.enabled.is_(True), Journey.trigger_kind.in_(sorted(DATE_TRIGGERS)))
            .order_by(Journey.id)
        )
    )
