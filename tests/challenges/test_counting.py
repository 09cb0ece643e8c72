"""Challenges as specifications, on SQLite and PostgreSQL: purchases and events recorded
through the activity services advance each member's progress in the same transaction, and a
completion gives its reward once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.activities.events import LineFacts, PurchaseRecorded
from lojal.activities.schemas import PurchaseCreate
from lojal.badges import service as badges
from lojal.challenges.models import ChallengeFact
from lojal.clock import FixedClock
from lojal.ledger import queries as ledger_queries
from lojal.ledger.models import PointLot
from lojal.members.models import Member
from lojal.program.schemas import ProgramConfig
from tests.challenges.helpers import (
    challenge_entries,
    completions,
    define,
    make_badge,
    standing,
)
from tests.conftest import START
from tests.factories import line, make_event, make_member, make_purchase, make_return

ZONE = ZoneInfo("Europe/Stockholm")
DAY = timedelta(days=1)


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=ZONE).astimezone(UTC)


def buy(session: Session, clock: FixedClock, member: Member, at: datetime, *categories: str) -> str:
    lines = [line(f"SKU-{c}", category=c) for c in categories] or [line()]
    recorded = make_purchase(session, clock, member_id=member.id, occurred_at=at, lines=lines)
    order_id: str = recorded.row.order_id
    return order_id


# ---------------------------------------------------------------- the examples


def test_three_purchases_in_30_days(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    challenge = define(
        session,
        clock.now(),
        name="3 purchases in 30 days",
        window={"kind": "rolling", "days": 30},
        reward={"points": 100},
    )
    anna = make_member(session, clock)
    buy(session, clock, anna, START)
    buy(session, clock, anna, START + 10 * DAY)
    seen = standing(session, anna.id, challenge.code, START + 10 * DAY)
    assert (seen.status, seen.progress, seen.target) == ("in_progress", 2, 3)
    assert seen.window_end == START + 30 * DAY
    assert not seen.rewarded
    assert challenge_entries(session, anna.id) == []

    buy(session, clock, anna, START + 29 * DAY)
    seen = standing(session, anna.id, challenge.code, START + 29 * DAY)
    assert (seen.status, seen.completions, seen.rewarded) == ("completed", 1, True)
    [entry] = challenge_entries(session, anna.id)
    assert entry.points == 100
    assert entry.key == f"challenge:{challenge.id}:{anna.id}:1"
    assert entry.explanation == "+100 points: challenge '3 purchases in 30 days' completed"
    lot = session.scalar(select(PointLot).where(PointLot.entry_id == entry.id))
    assert lot is not None
    assert lot.source == f"challenge:{challenge.id}"
    # earned with the completing purchase, pending for the programme's return window
    assert (lot.earned_at, lot.state) == (START + 29 * DAY, "pending")

    # once: more purchases change nothing
    buy(session, clock, anna, START + 30 * DAY)
    assert len(challenge_entries(session, anna.id)) == 1


def test_three_purchases_spread_over_more_than_30_days_do_not_complete(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    challenge = define(session, clock.now(), window={"kind": "rolling", "days": 30})
    bo = make_member(session, clock)
    for day in (0, 10, 30):
        buy(session, clock, bo, START + day * DAY)
    seen = standing(session, bo.id, challenge.code, START + 30 * DAY)
    # the first window lapsed on day 30; day 30's purchase opened a new one
    assert (seen.status, seen.progress) == ("in_progress", 1)
    assert (seen.window_start, seen.window_end) == (START + 30 * DAY, START + 60 * DAY)
    assert challenge_entries(session, bo.id) == []
    # and the window as the member sees it once it has passed unfinished
    later = standing(session, bo.id, challenge.code, START + 61 * DAY)
    assert (later.status, later.progress, later.window_end) == ("not_started", 0, None)


def test_buy_from_4_categories_this_quarter(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    explorer = make_badge(session, clock.now(), "explorer", image_url="https://x.se/e.png")
    challenge = define(
        session,
        clock.now(),
        name="Buy from 4 categories this quarter",
        goal={"kind": "distinct", "field": "line.category", "target": 4},
        window={"kind": "calendar", "period": "quarter"},
        reward={"points": 200, "badge": explorer},
    )
    cia = make_member(session, clock)
    buy(session, clock, cia, START, "coffee", "tea")
    buy(session, clock, cia, START + DAY, "tea", "coffee")
    buy(session, clock, cia, local(2026, 3, 31, 23, 59), "bakery")  # still Q1 in Stockholm
    seen = standing(session, cia.id, challenge.code, local(2026, 3, 31, 23, 59))
    assert (seen.progress, seen.values) == (3, ["bakery", "coffee", "tea"])
    assert (seen.window_start, seen.window_end) == (START, local(2026, 4, 1))

    # 1 April 00:00 in Stockholm (22:00 UTC): a new quarter, a new attempt
    buy(session, clock, cia, datetime(2026, 3, 31, 22, 0, tzinfo=UTC), "fruit")
    q2 = local(2026, 4, 1, 12)
    seen = standing(session, cia.id, challenge.code, q2)
    assert (seen.progress, seen.values) == (1, ["fruit"])
    assert (seen.window_start, seen.window_end) == (local(2026, 4, 1), local(2026, 7, 1))
    assert badges.badges_of(session, member_id=cia.id) == []

    buy(session, clock, cia, q2, "coffee", "tea", "coffee")
    buy(session, clock, cia, q2 + DAY, "bakery")
    seen = standing(session, cia.id, challenge.code, q2 + DAY)
    assert (seen.status, seen.completions) == ("completed", 1)
    [badge] = badges.badges_of(session, member_id=cia.id)
    assert (badge.code, badge.times, badge.image_url) == (explorer, 1, "https://x.se/e.png")
    assert badge.source == f"challenge:{challenge.code}"
    assert [e.points for e in challenge_entries(session, cia.id)] == [200]


def test_answer_the_survey(session: Session, clock: FixedClock, program: ProgramConfig) -> None:
    challenge = define(
        session,
        clock.now(),
        name="Answer the survey",
        activity="event",
        event_type="survey_answered",
        goal={"kind": "count", "target": 1},
        starts_at="2026-03-01",
        ends_at="2026-04-01",  # dates: midnight in the club's time zone
        reward={"points": 50},
    )
    assert challenge.runs_from == local(2026, 3, 1)
    assert challenge.runs_until == local(2026, 4, 1)
    dag = make_member(session, clock)
    eva = make_member(session, clock)
    make_event(session, clock, "review_written", member_id=dag.id)
    assert challenge_entries(session, dag.id) == []
    make_event(session, clock, "survey_answered", member_id=dag.id, properties={"score": 5})
    make_event(session, clock, "survey_answered", member_id=dag.id)
    assert [e.points for e in challenge_entries(session, dag.id)] == [50]
    # after the campaign's last local day, answering counts no more
    make_event(session, clock, "survey_answered", member_id=eva.id, occurred_at=local(2026, 4, 1))
    assert challenge_entries(session, eva.id) == []


def test_a_purchase_every_week_for_4_weeks(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    regular = make_badge(session, clock.now(), "regular")
    challenge = define(
        session,
        clock.now(),
        name="A purchase every week for 4 weeks",
        goal={"kind": "streak", "period": "week", "target": 4},
        reward={"badge": regular},
    )
    faithful = make_member(session, clock)
    # Monday 9:00, Sunday 23:30 local (still week 2), Saturday, Monday 0:10 local
    times = [START, local(2026, 3, 15, 23, 30), local(2026, 3, 21, 12), local(2026, 3, 23, 0, 10)]
    for at in times[:3]:
        buy(session, clock, faithful, at)
    seen = standing(session, faithful.id, challenge.code, times[2])
    assert (seen.status, seen.progress, seen.streak, seen.streak_period) == (
        "in_progress",
        3,
        3,
        "week",
    )
    buy(session, clock, faithful, times[3])
    assert [b.code for b in badges.badges_of(session, member_id=faithful.id)] == [regular]
    assert challenge_entries(session, faithful.id) == []  # a badge-only reward

    broken = make_member(session, clock)
    for week in (0, 1, 2, 4, 5):  # week 3 missed
        buy(session, clock, broken, START + timedelta(weeks=week))
    seen = standing(session, broken.id, challenge.code, START + timedelta(weeks=5))
    assert (seen.status, seen.progress, seen.streak) == ("in_progress", 3, 2)
    assert badges.badges_of(session, member_id=broken.id) == []
    # without a purchase in weeks 6 and 7 the streak is broken
    assert standing(session, broken.id, challenge.code, START + timedelta(weeks=7)).streak == 0
    buy(session, clock, broken, START + timedelta(weeks=6))
    buy(session, clock, broken, START + timedelta(weeks=7))
    assert len(badges.badges_of(session, member_id=broken.id)) == 1


# ---------------------------------------------------------------- targeting and repeats


def test_only_the_targeted_tiers_take_part(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    challenge = define(
        session, clock.now(), goal={"kind": "count", "target": 1}, tiers=["gold", "silver"]
    )
    gold = make_member(session, clock)
    bronze = make_member(session, clock)
    untiered = make_member(session, clock)
    gold.tier, bronze.tier = "gold", "bronze"
    session.flush()
    for member in (gold, bronze, untiered):
        buy(session, clock, member, START)
    assert len(challenge_entries(session, gold.id)) == 1
    assert challenge_entries(session, bronze.id) == []
    assert challenge_entries(session, untiered.id) == []
    # a member outside the targeted tiers is not shown the challenge
    from lojal.challenges import service

    shown = service.active_for_member(session, member_id=bronze.id, now=START)
    assert challenge.code not in [c.code for c in shown]
    # promoted: from now on their purchases count
    bronze.tier = "silver"
    session.flush()
    buy(session, clock, bronze, START + DAY)
    assert len(challenge_entries(session, bronze.id)) == 1


def test_repeatable_up_to_a_cap_versus_once(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    badge = make_badge(session, clock.now())
    twice = define(
        session,
        clock.now(),
        goal={"kind": "count", "target": 2},
        repeatable=True,
        max_completions=2,
        reward={"points": 10, "badge": badge},
    )
    once = define(session, clock.now(), goal={"kind": "count", "target": 2}, reward={"points": 7})
    member = make_member(session, clock)
    for hour in range(6):
        buy(session, clock, member, START + timedelta(hours=hour))
    assert completions(session, member.id, twice.id) == 2
    assert completions(session, member.id, once.id) == 1
    assert sorted(e.points for e in challenge_entries(session, member.id)) == [7, 10, 10]
    [held] = badges.badges_of(session, member_id=member.id)
    assert held.times == 2
    seen = standing(session, member.id, twice.code, START + timedelta(hours=6))
    assert (seen.status, seen.completions, seen.max_completions) == ("completed", 2, 2)


def test_a_repeatable_calendar_challenge_is_won_once_a_month(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    challenge = define(
        session,
        clock.now(),
        goal={"kind": "count", "target": 2},
        window={"kind": "calendar", "period": "month"},
        repeatable=True,
    )
    member = make_member(session, clock)
    for day in (0, 1, 2, 3, 20):  # March
        buy(session, clock, member, START + day * DAY)
    seen = standing(session, member.id, challenge.code, START + 21 * DAY)
    assert (seen.status, seen.completions) == ("completed", 1)
    buy(session, clock, member, local(2026, 4, 1, 8))
    seen = standing(session, member.id, challenge.code, local(2026, 4, 1, 9))
    assert (seen.status, seen.progress, seen.completions) == ("in_progress", 1, 1)
    buy(session, clock, member, local(2026, 4, 2, 8))
    assert completions(session, member.id, challenge.id) == 2


# ---------------------------------------------------------------- idempotency


def test_the_same_activity_recorded_twice_counts_once(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    purchases = define(session, clock.now(), goal={"kind": "count", "target": 2})
    surveys = define(
        session,
        clock.now(),
        activity="event",
        event_type="survey_answered",
        goal={"kind": "count", "target": 2},
    )
    member = make_member(session, clock)
    order = make_purchase(session, clock, "order-twice", member_id=member.id)
    make_purchase(session, clock, "order-twice", member_id=member.id)  # the same order id
    make_event(session, clock, "survey_answered", member_id=member.id, event_id="ev-twice")
    make_event(session, clock, "survey_answered", member_id=member.id, event_id="ev-twice")
    # a reaction run twice for the same facts (a retried batch) counts nothing more
    row = order.row
    recorded = PurchaseRecorded(
        row.id,
        row.order_id,
        member.id,
        row.occurred_at,
        row.channel,
        row.store_id,
        row.total_minor,
        row.points,
        [LineFacts.of("SKU-1", 10_000)],
        True,
    )
    reactions.after_purchases(session, [recorded, recorded], clock.now())
    assert standing(session, member.id, purchases.code, START).progress == 1
    assert standing(session, member.id, surveys.code, START).progress == 1
    assert challenge_entries(session, member.id) == []

    make_purchase(session, clock, member_id=member.id)
    reactions.after_purchases(session, [recorded], clock.now())
    assert completions(session, member.id, purchases.id) == 1
    [entry] = challenge_entries(session, member.id)
    assert entry.points == 100
    assert ledger_queries.verify(session) == []


def test_credited_purchases_count_when_the_member_enrols(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    challenge = define(session, clock.now(), goal={"kind": "count", "target": 2})
    for hour in (1, 2):
        data = PurchaseCreate.model_validate(
            {
                "order_id": f"before-{hour}",
                "email": "later@example.se",
                "occurred_at": (START + timedelta(hours=hour)).isoformat(),
                "lines": [line()],
            }
        )
        from lojal.activities import service as activities

        activities.record_purchase(session, data=data, now=clock.now())
    member = make_member(session, clock, email="later@example.se")
    assert completions(session, member.id, challenge.id) == 1


# ---------------------------------------------------------------- life of a challenge


def test_drafts_and_ended_challenges_count_nothing(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    from lojal.challenges import service

    draft = define(session, clock.now(), activate=False, goal={"kind": "count", "target": 1})
    member = make_member(session, clock)
    buy(session, clock, member, START)
    assert session.scalars(select(ChallengeFact)).all() == []
    # activated later: what was recorded before is not counted (no look-back)
    clock.advance(DAY)
    service.activate(session, code=draft.code, now=clock.now())
    buy(session, clock, member, START + timedelta(hours=12))  # before the activation
    assert completions(session, member.id, draft.id) == 0
    buy(session, clock, member, clock.now())
    assert completions(session, member.id, draft.id) == 1

    ended = define(session, clock.now(), goal={"kind": "count", "target": 1})
    service.end(session, code=ended.code, now=clock.now())
    buy(session, clock, member, clock.now())
    assert completions(session, member.id, ended.id) == 0


# ---------------------------------------------------------------- returns


def test_a_return_uncounts_an_unfinished_attempt_but_never_a_completed_one(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    count = define(session, clock.now(), goal={"kind": "count", "target": 3})
    categories = define(
        session, clock.now(), goal={"kind": "distinct", "field": "line.category", "target": 4}
    )
    spend = define(session, clock.now(), goal={"kind": "sum", "target": 1_000_000})
    quick = define(session, clock.now(), goal={"kind": "count", "target": 1})
    member = make_member(session, clock)
    first = buy(session, clock, member, START, "coffee", "tea")
    second = buy(session, clock, member, START + DAY, "coffee")
    assert standing(session, member.id, count.code, START).progress == 2
    assert standing(session, member.id, categories.code, START).values == ["coffee", "tea"]
    assert standing(session, member.id, spend.code, START).progress == 30_000

    # returning the tea line: the purchase still counts, tea no longer does, its money neither
    make_return(session, clock, first, lines=[{"line_no": 2}])
    assert standing(session, member.id, count.code, START).progress == 2
    assert standing(session, member.id, categories.code, START).values == ["coffee"]
    assert standing(session, member.id, spend.code, START).progress == 20_000
    # the whole second order returned: it no longer counts at all
    make_return(session, clock, second)
    assert standing(session, member.id, count.code, START).progress == 1
    assert standing(session, member.id, categories.code, START).values == ["coffee"]
    assert standing(session, member.id, spend.code, START).progress == 10_000
    # the quick challenge was completed by the first purchase: it stays completed and rewarded
    make_return(session, clock, first)
    assert completions(session, member.id, quick.id) == 1
    assert standing(session, member.id, quick.code, START).status == "completed"
    assert standing(session, member.id, count.code, START).progress == 0
    assert ledger_queries.verify(session) == []
