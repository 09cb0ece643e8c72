"""Live membership: a member's segments are brought up to date in the transaction of the
activity that changed them, set-based for batches; the sweep makes time-based segments true
as of its moment; entries and exits are events."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.activities import service as activities
from lojal.activities.models import Event
from lojal.activities.schemas import PurchaseCreate
from lojal.clock import FixedClock
from lojal.jobs.service import sweep_segments
from lojal.members import merging
from lojal.members.service import close
from lojal.privacy import erasure
from lojal.program.schemas import ProgramConfig
from lojal.segments import queries, service
from lojal.segments.models import Segment
from lojal.segments.schemas import SegmentCreate
from tests.factories import (
    line,
    make_event,
    make_member,
    make_purchase,
    make_return,
    purchase_payload,
)


def define(session: Session, clock: FixedClock, code: str, definition: Any) -> Segment:
    data = SegmentCreate.model_validate({"code": code, "name": code, "definition": definition})
    return service.create(session, data=data, now=clock.now())


def members_of(session: Session, segment: Segment) -> list[int]:
    session.flush()
    return queries.current_ids(session, segment.id)


def events_of(session: Session, member_id: int, prefix: str = "segment_") -> list[str]:
    return [
        f"{e.type}:{e.properties['segment_code']}"
        for e in session.scalars(
            select(Event).where(Event.member_id == member_id).order_by(Event.id)
        )
        if e.type.startswith(prefix)
    ]


BUYERS = {"activity": "purchases", "measure": "count", "op": "gte", "value": 2}


def test_a_purchase_makes_the_member_enter_in_its_own_transaction(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    repeat = define(session, clock, "repeat", BUYERS)
    member = make_member(session, clock)
    make_purchase(session, clock, member_id=member.id)
    assert members_of(session, repeat) == []
    nested = session.begin_nested()
    make_purchase(session, clock, member_id=member.id)
    # before anything commits: the purchase's own transaction holds the entry and its event
    assert members_of(session, repeat) == [member.id]
    assert events_of(session, member.id) == ["segment_entered:repeat"]
    nested.rollback()
    assert members_of(session, repeat) == []
    assert events_of(session, member.id) == []


def test_a_return_and_an_event_move_members_in_and_out(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    loyal = define(
        session,
        clock,
        "loyal",
        {
            "all": [
                {"activity": "purchases", "measure": "exists"},
                {"activity": "returns", "measure": "none"},
            ]
        },
    )
    surveyed = define(
        session,
        clock,
        "surveyed",
        {
            "activity": "events",
            "measure": "exists",
            "where": {"field": "event.type", "op": "eq", "value": "survey_answered"},
        },
    )
    assert surveyed.reads == ["event:survey_answered"]
    member = make_member(session, clock)
    make_purchase(session, clock, "order-1", member_id=member.id)
    assert members_of(session, loyal) == [member.id]
    make_return(session, clock, "order-1")
    assert members_of(session, loyal) == []
    make_event(session, clock, "email_open", member_id=member.id)
    assert members_of(session, surveyed) == []
    make_event(session, clock, "survey_answered", member_id=member.id)
    assert members_of(session, surveyed) == [member.id]
    assert events_of(session, member.id) == [
        "segment_entered:loyal",
        "segment_left:loyal",
        "segment_entered:surveyed",
    ]
    history = [(s.code, m.left_at is None) for s, m in queries.history_of(session, member.id)]
    assert history == [("loyal", False), ("surveyed", True)]


def test_enrolment_and_tier_changes_and_segment_events_are_followed(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    newcomers = define(session, clock, "newcomers", {"activity": "purchases", "measure": "none"})
    segmented = define(
        session,
        clock,
        "segmented",
        {
            "activity": "events",
            "measure": "exists",
            "where": {"field": "event.type", "op": "eq", "value": "segment_entered"},
        },
    )
    member = make_member(session, clock)
    # enrolment fills 'newcomers', whose entry event fills 'segmented'
    assert members_of(session, newcomers) == [member.id]
    assert members_of(session, segmented) == [member.id]


def test_a_merge_re_evaluates_both_members(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    buyers = define(session, clock, "buyers", BUYERS)
    kept, gone = make_member(session, clock), make_member(session, clock)
    make_purchase(session, clock, member_id=kept.id)
    make_purchase(session, clock, member_id=gone.id)
    make_purchase(session, clock, member_id=gone.id)
    assert members_of(session, buyers) == [gone.id]
    static = service.create(
        session,
        data=SegmentCreate(code="vip", name="VIP", kind="static"),
        now=clock.now(),
    )
    service.import_list(session, segment="vip", text=f"member_id\n{gone.id}\n", now=clock.now())
    merging.merge(session, into_id=kept.id, from_id=gone.id, now=clock.now())
    assert members_of(session, buyers) == [kept.id]
    assert members_of(session, static) == [kept.id]


def test_a_batch_is_one_query_per_affected_segment(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    buyers = define(session, clock, "buyers", BUYERS)
    coffee = define(
        session,
        clock,
        "coffee",
        {
            "activity": "lines",
            "measure": "exists",
            "where": {"field": "line.category", "op": "eq", "value": "coffee"},
        },
    )
    define(session, clock, "surveyed", {"activity": "events", "measure": "exists"})
    members = [make_member(session, clock) for _ in range(50)]
    items = [
        PurchaseCreate.model_validate(
            purchase_payload(member_id=m.id, lines=[line(category="coffee" if i % 2 else "tea")])
        )
        for i, m in enumerate(members)
        for _ in range(2)
    ]
    with _statements(session) as seen:
        activities.record_purchases(session, items=items, now=clock.now())
    evaluations = [s for s in seen if s.startswith("SELECT members.id")]
    # buyers and coffee; then 'surveyed' (reading any event) once, for their entry events
    assert len(evaluations) == 3
    assert members_of(session, buyers) == sorted(m.id for m in members)
    assert members_of(session, coffee) == sorted(m.id for i, m in enumerate(members) if i % 2)


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.get_bind()

    def record(_: Any, __: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_sweep_at_t_makes_time_based_segments_true_as_of_t(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    lapsed = define(
        session,
        clock,
        "lapsed",
        {
            "all": [
                {"activity": "purchases", "measure": "exists"},
                {
                    "not": {
                        "activity": "purchases",
                        "measure": "exists",
                        "within": {"last_days": 90},
                    }
                },
            ]
        },
    )
    birthday = define(session, clock, "birthday-week", {"birthday": {"in_days": [0, 7]}})
    # clock: Monday 2 March 2026; birthday on 12 March: not yet within the week
    member = make_member(session, clock, birth_date="1985-03-12")
    make_purchase(session, clock, member_id=member.id)
    session.commit()
    assert members_of(session, lapsed) == []
    assert members_of(session, birthday) == []
    later = clock.now() + timedelta(days=90)
    done = sweep_segments(session_factory, now=later - timedelta(days=85))  # 7 March
    assert (done.entered, done.left) == (1, 0)
    assert members_of(session, birthday) == [member.id]
    assert members_of(session, lapsed) == []
    done = sweep_segments(session_factory, now=later)  # 31 May: the 90 days are over
    assert members_of(session, lapsed) == [member.id]
    assert members_of(session, birthday) == []
    assert (done.entered, done.left) == (1, 1)
    again = sweep_segments(session_factory, now=later)
    assert (again.entered, again.left) == (0, 0)
    assert events_of(session, member.id) == [
        "segment_entered:birthday-week",
        "segment_entered:lapsed",
        "segment_left:birthday-week",
    ]


def test_a_closed_member_leaves_every_segment_at_the_next_sweep(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    buyers = define(session, clock, "buyers", {"activity": "purchases", "measure": "exists"})
    static = service.create(
        session, data=SegmentCreate(code="vip", name="VIP", kind="static"), now=clock.now()
    )
    member, other = make_member(session, clock), make_member(session, clock)
    make_purchase(session, clock, member_id=member.id)
    make_purchase(session, clock, member_id=other.id)
    service.import_list(session, segment="vip", text=f"member_id\n{member.id}\n", now=clock.now())
    close(session, member_id=member.id, now=clock.now())
    session.commit()
    assert buyers.reads == ["purchases"]  # not a segment the sweep re-evaluates
    done = sweep_segments(session_factory, now=clock.now())
    assert (done.segments, done.left) == (0, 2)
    assert members_of(session, buyers) == [other.id]
    assert members_of(session, static) == []


def test_an_erased_member_leaves_every_segment_and_list_at_once(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    buyers = define(session, clock, "buyers", {"activity": "purchases", "measure": "exists"})
    static = service.create(
        session, data=SegmentCreate(code="vip", name="VIP", kind="static"), now=clock.now()
    )
    member = make_member(session, clock)
    make_purchase(session, clock, member_id=member.id)
    service.import_list(session, segment="vip", text=f"member_id\n{member.id}\n", now=clock.now())
    erasure.erase(session, member_id=member.id, now=clock.now())
    assert members_of(session, buyers) == []
    assert members_of(session, static) == []
