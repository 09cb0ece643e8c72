"""Downgrades happen only at the end of the tier period, by ``lojal jobs run``: never before it
(even when the rolling total has dropped), never more levels than the policy allows, after a
grace period if there is one, recorded in the history and as events; a second run changes
nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.activities.models import Event
from lojal.clock import FixedClock
from lojal.jobs.service import run_due
from lojal.members import service as members
from lojal.members.models import Member
from lojal.tiers import qualification as q
from lojal.tiers import queries as tiers
from lojal.tiers.models import TierChange
from tests.conftest import START, apply_program
from tests.factories import make_member, make_purchase
from tests.tiers.club import GOLD, SILVER, amount, apply_tiers, changes, tier_events

STOCKHOLM = ZoneInfo("Europe/Stockholm")
TZ = "Europe/Stockholm"


def local(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=STOCKHOLM).astimezone(UTC)


def tier_of(session: Session, member_id: int) -> str | None:
    session.expire_all()
    return session.scalar(select(Member.tier).where(Member.id == member_id))


def jobs(session_factory: sessionmaker[Session], clock: FixedClock, at: datetime) -> int:
    clock.at = at
    return run_due(session_factory, clock=clock).tiers_reviewed


def buy(session: Session, clock: FixedClock, member_id: int, minor: int, at: datetime) -> Any:
    return make_purchase(
        session, clock, member_id=member_id, lines=[amount(minor)], occurred_at=at.isoformat()
    )


def test_a_rolling_tier_falls_only_at_the_end_of_its_period(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    apply_tiers(session, clock.now())
    member = make_member(session, clock)
    buy(session, clock, member.id, 60_000, q.add_months(START, -11, TZ))
    buy(session, clock, member.id, 40_000, START)
    session.commit()
    assert tier_of(session, member.id) == "silver"
    period_end = q.add_months(START, 12, TZ)
    progress = tiers.progress(session, member_id=member.id, now=clock.now())
    assert progress.keep is not None
    assert progress.keep.review_at == period_end
    assert progress.keep.remaining == SILVER  # the tier period itself must earn it again

    # Two months on, the older purchase has left the rolling window: the total is below
    # Silver's threshold, and the member is still Silver.
    assert jobs(session_factory, clock, q.add_months(START, 2, TZ)) == 0
    assert tiers.progress(session, member_id=member.id, now=clock.now()).total == 40_000
    assert tier_of(session, member.id) == "silver"
    assert jobs(session_factory, clock, period_end - timedelta(seconds=1)) == 0
    assert tier_of(session, member.id) == "silver"

    assert jobs(session_factory, clock, period_end) == 1
    assert tier_of(session, member.id) == "bronze"
    [fall] = session.scalars(
        select(TierChange)
        .where(TierChange.member_id == member.id, TierChange.reason != "joined")
        .where(TierChange.to_tier == "bronze")
    )
    assert (fall.from_tier, fall.reason, fall.effective_at) == ("silver", "period_end", period_end)
    event = tier_events(session, member.id)[-1]
    assert event.properties == {
        "from": "silver",
        "to": "bronze",
        "reason": "period_end",
        "direction": "down",
    }
    assert event.occurred_at == period_end

    # Running the job again changes nothing.
    history = changes(session, member.id)
    events = session.scalar(select(func.count()).select_from(Event))
    assert jobs(session_factory, clock, period_end + timedelta(hours=1)) == 0
    assert changes(session, member.id) == history
    assert session.scalar(select(func.count()).select_from(Event)) == events


def test_a_member_who_requalifies_in_the_period_keeps_the_tier(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    apply_tiers(session, clock.now())
    member = make_member(session, clock)
    buy(session, clock, member.id, SILVER, START)
    buy(session, clock, member.id, SILVER, q.add_months(START, 6, TZ))
    session.commit()
    period_end = q.add_months(START, 12, TZ)
    assert jobs(session_factory, clock, period_end) == 1
    assert tier_of(session, member.id) == "silver"
    assert changes(session, member.id)[-1] == ("bronze", "silver", "qualified")
    progress = tiers.progress(session, member_id=member.id, now=clock.now())
    assert progress.keep is not None
    assert progress.keep.review_at == q.add_months(START, 24, TZ)


def calendar_club(session: Session, clock: FixedClock, **downgrade: Any) -> None:
    apply_tiers(
        session,
        clock.now(),
        period="calendar_year",
        downgrade={"max_levels": 1, "grace_days": 0, **downgrade},
    )


def test_a_calendar_tier_is_held_through_the_next_year_and_falls_one_level_at_a_time(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    calendar_club(session, clock)
    member = make_member(session, clock)
    buy(session, clock, member.id, GOLD, START)
    session.commit()
    assert tier_of(session, member.id) == "gold"

    assert jobs(session_factory, clock, local(2027) - timedelta(minutes=1)) == 0
    # 1 January 2027: 2026 reached Gold, so Gold is kept through 2027.
    assert jobs(session_factory, clock, local(2027)) == 1
    assert tier_of(session, member.id) == "gold"
    keep = tiers.progress(session, member_id=member.id, now=clock.now()).keep
    assert keep is not None
    assert (keep.review_at, keep.window.start, keep.remaining) == (local(2028), local(2027), GOLD)

    # Nothing bought in 2027: at most one level down per review, though Bronze is earned.
    assert jobs(session_factory, clock, local(2028)) == 1
    assert tier_of(session, member.id) == "silver"
    assert jobs(session_factory, clock, local(2029)) == 1
    assert tier_of(session, member.id) == "bronze"
    assert [(f, t, r) for f, t, r in changes(session, member.id)] == [
        (None, "bronze", "joined"),
        ("bronze", "gold", "qualified"),
        ("gold", "silver", "period_end"),
        ("silver", "bronze", "period_end"),
    ]
    # Bronze is the tier everyone has: nothing more to review.
    assert jobs(session_factory, clock, local(2031)) == 0


def test_without_a_limit_a_review_falls_to_what_the_member_qualifies_for(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    calendar_club(session, clock, max_levels=None)
    member = make_member(session, clock)
    buy(session, clock, member.id, GOLD, START)
    buy(session, clock, member.id, SILVER, local(2027, 6))
    session.commit()
    jobs(session_factory, clock, local(2028))
    assert tier_of(session, member.id) == "silver"
    jobs(session_factory, clock, local(2029))
    assert tier_of(session, member.id) == "bronze"


def test_reviews_missed_for_years_are_made_in_order_in_one_run(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    calendar_club(session, clock)
    member = make_member(session, clock)
    buy(session, clock, member.id, GOLD, START)
    session.commit()
    assert jobs(session_factory, clock, local(2029, 6)) == 3
    rows = list(
        session.scalars(
            select(TierChange)
            .where(TierChange.member_id == member.id, TierChange.reason == "period_end")
            .order_by(TierChange.id)
        )
    )
    assert [(r.to_tier, r.effective_at) for r in rows] == [
        ("silver", local(2028)),
        ("bronze", local(2029)),
    ]


def test_a_grace_period_delays_the_fall(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    apply_tiers(session, clock.now(), downgrade={"max_levels": 1, "grace_days": 30})
    member = make_member(session, clock)
    buy(session, clock, member.id, SILVER, START)
    session.commit()
    period_end = q.add_months(START, 12, TZ)
    grace_end = q.add_days(period_end, 30, TZ)

    assert jobs(session_factory, clock, period_end) == 1
    assert tier_of(session, member.id) == "silver"
    [notice] = tier_events(session, member.id, "tier_grace_started")
    assert notice.properties["falls_to"] == "bronze"
    assert notice.properties["until"] == grace_end.isoformat()
    keep = tiers.progress(session, member_id=member.id, now=clock.now()).keep
    assert keep is not None
    assert (keep.in_grace, keep.review_at, keep.remaining) == (True, grace_end, SILVER)

    assert jobs(session_factory, clock, grace_end - timedelta(days=1)) == 0
    assert tier_of(session, member.id) == "silver"
    assert jobs(session_factory, clock, grace_end) == 1
    assert tier_of(session, member.id) == "bronze"
    assert changes(session, member.id)[-1] == ("silver", "bronze", "grace")
    assert tier_events(session, member.id)[-1].properties["reason"] == "grace"


def test_reaching_the_threshold_in_the_grace_period_keeps_the_tier(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    apply_tiers(session, clock.now(), downgrade={"max_levels": 1, "grace_days": 30})
    member = make_member(session, clock)
    buy(session, clock, member.id, SILVER, START)
    session.commit()
    period_end = q.add_months(START, 12, TZ)
    jobs(session_factory, clock, period_end)
    history = changes(session, member.id)

    clock.at = period_end + timedelta(days=10)
    make_purchase(session, clock, member_id=member.id, lines=[amount(SILVER)])
    session.commit()
    progress = tiers.progress(session, member_id=member.id, now=clock.now())
    assert progress.keep is not None
    assert not progress.keep.in_grace
    assert progress.keep.review_at == q.add_months(clock.now(), 12, TZ)
    assert jobs(session_factory, clock, q.add_days(period_end, 30, TZ)) == 0
    assert tier_of(session, member.id) == "silver"
    assert changes(session, member.id) == history  # kept: no change to record


def test_members_who_joined_before_the_club_had_tiers_get_the_entry_tier(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    apply_program(session, clock.now())
    early = [make_member(session, clock) for _ in range(3)]
    apply_tiers(session, clock.now())
    session.commit()
    assert {tier_of(session, m.id) for m in early} == {None}
    run_due(session_factory, clock=clock)
    assert {tier_of(session, m.id) for m in early} == {"bronze"}
    assert changes(session, early[0].id) == [(None, "bronze", "joined")]


def test_a_closed_member_is_no_longer_reviewed(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    apply_tiers(session, clock.now())
    member = make_member(session, clock)
    buy(session, clock, member.id, GOLD, START)
    members.close(session, member_id=member.id, now=clock.now())
    session.commit()
    history = changes(session, member.id)
    assert jobs(session_factory, clock, q.add_months(START, 12, TZ)) == 1
    assert jobs(session_factory, clock, q.add_months(START, 36, TZ)) == 0
    assert changes(session, member.id) == history
