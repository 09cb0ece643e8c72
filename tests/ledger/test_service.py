"""The points ledger through the services: earning, activation, spending, clawback, expiry,
adjustments, merges and closing, with ``verify`` clean after each story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lojal import enrolment
from lojal.activities.models import Purchase
from lojal.clock import FixedClock
from lojal.errors import Invalid
from lojal.jobs.service import Summary, run_due
from lojal.ledger import queries as ledger_queries
from lojal.ledger import service as ledger
from lojal.ledger.entries import InsufficientPoints
from lojal.ledger.models import JournalEntry, PointLot
from lojal.members import merging
from lojal.members import service as members
from lojal.members.errors import MemberClosed
from lojal.members.models import Member
from lojal.members.schemas import MemberCreate
from lojal.program.schemas import ProgramConfig
from tests.conftest import apply_program
from tests.factories import line, make_member, make_purchase, make_return


def jobs(session: Session, factory: sessionmaker[Session], clock: FixedClock) -> Summary:
    session.commit()
    summary = run_due(factory, clock=clock)
    session.expire_all()
    return summary


def bal(session: Session, member: Member) -> tuple[int, int]:
    row = ledger_queries.balance(session, member.id)
    return row.pending, row.available


def lots(session: Session, member: Member) -> list[PointLot]:
    return list(
        session.scalars(
            select(PointLot)
            .where(PointLot.member_id == member.id, PointLot.state != "closed")
            .order_by(PointLot.earned_at, PointLot.id)
        )
    )


def test_purchase_points_are_pending_then_available(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    m = make_member(session, clock)
    make_purchase(session, clock, member_id=m.id, lines=[line(unit_price_minor=12_345)])
    assert bal(session, m) == (123, 0)
    clock.advance(timedelta(days=14) - timedelta(seconds=1))
    assert jobs(session, session_factory, clock).activated == 0
    assert bal(session, m) == (123, 0)
    clock.advance(timedelta(seconds=1))
    assert jobs(session, session_factory, clock).activated == 1
    assert bal(session, m) == (0, 123)
    assert ledger_queries.balance(session, m.id).lifetime_earned == 123
    assert ledger_queries.verify(session) == []


def test_no_pending_period_makes_points_available_at_once(
    session: Session,
    clock: FixedClock,
) -> None:
    apply_program(session, clock.now(), pending_days=0)
    m = make_member(session, clock)
    make_purchase(session, clock, member_id=m.id)
    assert bal(session, m) == (0, 100)


def test_activity_before_enrolment_is_credited_with_its_returns(
    session: Session,
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    first = make_purchase(
        session, clock, "pre-1", phone="070-123 45 67", lines=[line("A", quantity=2), line("B")]
    )
    assert first.row.member_id is None
    make_return(session, clock, "pre-1", lines=[{"line_no": 1, "quantity": 1}])
    member = enrolment.enrol(
        session, data=MemberCreate(phone="+46701234567", channel="store"), now=clock.now()
    )
    session.flush()
    assert session.get(Purchase, first.row.id).member_id == member.id  # type: ignore[union-attr]
    assert bal(session, member) == (200, 0)
    assert ledger_queries.balance(session, member.id).lifetime_earned == 200
    assert ledger_queries.verify(session) == []


def test_clawback_takes_pending_then_available_and_records_the_shortfall(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    m = make_member(session, clock)
    make_purchase(session, clock, "first", member_id=m.id)
    clock.advance(timedelta(days=14))
    jobs(session, session_factory, clock)
    ledger.spend(session, member_id=m.id, points=100, key="spend-all", now=clock.now())
    ledger.adjust(
        session,
        member_id=m.id,
        points=30,
        reason="goodwill",
        key="adj-1",
        now=clock.now(),
        config=program,
    )
    make_purchase(session, clock, "second", member_id=m.id, lines=[line(unit_price_minor=5_000)])
    assert bal(session, m) == (50, 30)
    returned = make_return(session, clock, "first")
    assert returned.row.points_clawed_back == 80
    assert returned.row.points_unrecovered == 20
    assert bal(session, m) == (0, 0)
    entry = session.scalar(
        select(JournalEntry).where(JournalEntry.kind == "clawback", JournalEntry.member_id == m.id)
    )
    assert entry is not None
    assert entry.detail["unrecovered"] == 20
    assert ledger_queries.verify(session) == []


def test_clawback_prefers_the_purchases_own_lot(
    session: Session,
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    m = make_member(session, clock)
    ledger.adjust(
        session,
        member_id=m.id,
        points=500,
        reason="welcome",
        key="adj-own",
        now=clock.now(),
        config=program,
    )
    make_purchase(session, clock, "own", member_id=m.id, lines=[line(quantity=2)])
    make_return(session, clock, "own", lines=[{"line_no": 1, "quantity": 1}])
    assert bal(session, m) == (100, 500)


def test_points_expire_in_lots_oldest_first(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    m = make_member(session, clock)
    make_purchase(session, clock, member_id=m.id)  # 100 points, 2026-03-02
    clock.at = datetime(2026, 7, 2, 9, 0, tzinfo=UTC)
    make_purchase(session, clock, member_id=m.id, lines=[line(unit_price_minor=20_000)])
    clock.advance(timedelta(days=14))
    jobs(session, session_factory, clock)
    assert bal(session, m) == (0, 300)
    ledger.spend(session, member_id=m.id, points=60, key="spend-60", now=clock.now())
    assert [lot.remaining for lot in lots(session, m)] == [40, 200]
    oldest = lots(session, m)[0]
    assert oldest.expires_at is not None
    assert oldest.expires_at.astimezone(UTC) == datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
    clock.at = datetime(2027, 3, 2, 8, 59, 59, tzinfo=UTC)
    assert jobs(session, session_factory, clock).expired == 0
    clock.advance(timedelta(seconds=1))
    assert jobs(session, session_factory, clock).expired == 1
    assert bal(session, m) == (0, 200)
    balance = ledger_queries.balance(session, m.id)
    assert balance.lifetime_expired == 40
    assert balance.lifetime_spent == 60
    assert balance.lifetime_earned == 300
    assert [lot.remaining for lot in lots(session, m)] == [200]
    assert ledger_queries.verify(session) == []


def test_expiry_rounded_to_month_end(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    apply_program(session, clock.now(), expiry={"months": 12, "round_to_month_end": True})
    m = make_member(session, clock)
    make_purchase(session, clock, member_id=m.id)
    [lot] = lots(session, m)
    assert lot.expires_at is not None
    # the end of March 2027 in Stockholm (summer time from 28 March): 2027-04-01 00:00+02:00
    end = datetime(2027, 3, 31, 22, 0, tzinfo=UTC)
    assert lot.expires_at.astimezone(UTC) == end
    clock.at = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
    jobs(session, session_factory, clock)
    assert bal(session, m) == (0, 100)
    clock.at = end
    assert jobs(session, session_factory, clock).expired == 1
    assert bal(session, m) == (0, 0)
    assert ledger_queries.verify(session) == []


def test_spend_never_drives_the_balance_negative(
    session: Session,
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    m = make_member(session, clock)
    ledger.adjust(
        session,
        member_id=m.id,
        points=50,
        reason="welcome",
        key="adj-50",
        now=clock.now(),
        config=program,
    )
    make_purchase(session, clock, member_id=m.id)  # pending points cannot be spent
    with pytest.raises(InsufficientPoints):
        ledger.spend(session, member_id=m.id, points=51, key="too-much", now=clock.now())
    assert bal(session, m) == (100, 50)
    ledger.spend(session, member_id=m.id, points=50, key="ok", now=clock.now())
    ledger.spend(session, member_id=m.id, points=50, key="ok", now=clock.now())
    assert bal(session, m) == (100, 0)
    assert ledger_queries.balance(session, m.id).lifetime_spent == 50
    assert ledger_queries.verify(session) == []


def test_adjustments_need_a_reason_and_cannot_go_negative(
    session: Session,
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    m = make_member(session, clock)
    with pytest.raises(Invalid) as info:
        ledger.adjust(
            session,
            member_id=m.id,
            points=10,
            reason="  ",
            key="adj-x",
            now=clock.now(),
            config=program,
        )
    assert info.value.field == "reason"
    ledger.adjust(
        session,
        member_id=m.id,
        points=10,
        reason="goodwill",
        key="adj-10",
        now=clock.now(),
        config=program,
    )
    with pytest.raises(InsufficientPoints):
        ledger.adjust(
            session,
            member_id=m.id,
            points=-11,
            reason="correction",
            key="adj-11",
            now=clock.now(),
            config=program,
        )
    assert bal(session, m) == (0, 10)
    ledger.adjust(
        session,
        member_id=m.id,
        points=-10,
        reason="correction",
        key="adj-m10",
        now=clock.now(),
        config=program,
    )
    assert bal(session, m) == (0, 0)
    assert ledger_queries.verify(session) == []


def test_merge_keeps_every_point_and_lot_dates(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    a = make_member(session, clock, email="a@example.se")
    b = make_member(
        session, clock, email="b@example.se", phone="0701234567", card_number="7777666655554444"
    )
    make_purchase(session, clock, member_id=a.id)
    make_purchase(session, clock, "b-old", member_id=b.id, lines=[line(unit_price_minor=30_000)])
    clock.advance(timedelta(days=20))
    jobs(session, session_factory, clock)
    ledger.spend(session, member_id=b.id, points=100, key="b-spend", now=clock.now())
    make_purchase(session, clock, "b-new", member_id=b.id, lines=[line(unit_price_minor=5_000)])
    before_a, before_b = bal(session, a), bal(session, b)
    assert before_a == (0, 100)
    assert before_b == (50, 200)
    dates_b = sorted(
        (lot.remaining, lot.state, lot.earned_at, lot.expires_at) for lot in lots(session, b)
    )
    life_a, life_b = (ledger_queries.balance(session, x.id).lifetime_earned for x in (a, b))
    merging.merge(session, into_id=a.id, from_id=b.id, now=clock.now())
    session.flush()
    assert bal(session, a) == (50, 300)
    assert bal(session, b) == (0, 0)
    assert ledger_queries.balance(session, a.id).lifetime_earned == life_a + life_b
    assert ledger_queries.balance(session, a.id).lifetime_spent == 100
    totals = [
        (x.lifetime_earned, x.lifetime_spent)
        for x in (ledger_queries.balance(session, a.id), ledger_queries.balance(session, b.id))
    ]
    assert totals == [(life_a + life_b, 100), (0, 0)]
    moved = sorted(
        (lot.remaining, lot.state, lot.earned_at, lot.expires_at)
        for lot in lots(session, a)
        if lot.source.startswith("merge:")
    )
    assert moved == dates_b
    for kind, value in (
        ("email", "b@example.se"),
        ("phone", "0701234567"),
        ("card", "7777666655554444"),
    ):
        assert members.find(session, kind=kind, value=value).id == a.id
    assert ledger_queries.verify(session) == []
    # the merged purchase's return still claws back from the survivor
    make_return(session, clock, "b-new")
    assert bal(session, a) == (0, 300)
    clock.advance(timedelta(days=14))
    jobs(session, session_factory, clock)
    assert ledger_queries.verify(session) == []


def test_close_forfeits_points_as_expiry_and_refuses_spend(
    session: Session,
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    m = make_member(session, clock)
    ledger.adjust(
        session,
        member_id=m.id,
        points=40,
        reason="welcome",
        key="adj-c",
        now=clock.now(),
        config=program,
    )
    make_purchase(session, clock, member_id=m.id)
    members.close(session, member_id=m.id, now=clock.now())
    assert bal(session, m) == (0, 0)
    kinds = list(session.scalars(select(JournalEntry.kind).where(JournalEntry.member_id == m.id)))
    assert kinds.count("expire") == 2
    assert ledger_queries.balance(session, m.id).lifetime_expired == 140
    with pytest.raises(MemberClosed):
        members.get_active(session, m.id)
    assert ledger_queries.verify(session) == []


def test_activity_returned_in_full_before_enrolment_nets_to_zero(
    session: Session,
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    make_purchase(session, clock, "x1", email="x@example.se", lines=[line("A", quantity=3)])
    make_return(session, clock, "x1", lines=[{"line_no": 1, "quantity": 1}])
    make_return(session, clock, "x1")
    m = enrolment.enrol(session, data=MemberCreate(email="x@example.se"), now=clock.now())
    session.flush()
    assert bal(session, m) == (0, 0)
    assert ledger_queries.balance(session, m.id).lifetime_earned == 0
    assert ledger_queries.verify(session) == []


def test_returns_and_purchases_after_a_merge_land_on_the_survivor(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    a = make_member(session, clock)
    b = make_member(session, clock)
    make_purchase(session, clock, "b1", member_id=b.id)
    merging.merge(session, into_id=a.id, from_id=b.id, now=clock.now())
    session.flush()
    r = make_return(session, clock, "b1")
    assert r.row.points_clawed_back == 100
    assert bal(session, a) == (0, 0)
    make_purchase(session, clock, "b2", member_id=b.id)
    assert bal(session, a) == (100, 0)
    clock.advance(timedelta(days=15))
    jobs(session, session_factory, clock)
    assert bal(session, a) == (0, 100)
    assert ledger_queries.verify(session) == []


def test_return_after_expiry_records_everything_as_unrecovered(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    m = make_member(session, clock)
    make_purchase(session, clock, "e1", member_id=m.id)
    clock.advance(timedelta(days=400))
    jobs(session, session_factory, clock)
    r = make_return(session, clock, "e1")
    assert r.row.points_unrecovered == 100
    assert bal(session, m) == (0, 0)
    assert ledger_queries.verify(session) == []
