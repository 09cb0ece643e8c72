"""The bulk path: an import advances challenges like the API does — set-based over each batch,
and a batch gives exactly what recording its purchases one at a time gives."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lojal.activities import service as activities
from lojal.activities.batch import BulkPurchase
from lojal.activities.bulk import import_purchases
from lojal.activities.events import LineFacts
from lojal.activities.schemas import PurchaseCreate
from lojal.challenges.models import Challenge, ChallengeCompletion, ChallengeProgress
from lojal.db.session import transaction
from lojal.enrolment import enrol
from lojal.imports import purchases
from lojal.ledger import queries as ledger_queries
from lojal.members.schemas import MemberCreate
from lojal.program.schemas import ProgramConfig
from tests.challenges.helpers import challenge_entries, define
from tests.conftest import START
from tests.imports.helpers import club, write_csv

HEADER = ["order_id", "email", "occurred_at", "sku", "category", "quantity", "unit_price_minor"]
CATEGORIES = ["coffee", "tea", "bakery", "fruit"]
_ids = itertools.count(1)


def test_a_csv_import_advances_challenges_and_a_rerun_adds_nothing(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    factory = club(fresh_engine, members_=4)
    with transaction(factory) as session:
        five = define(session, START, code="five", goal={"kind": "count", "target": 5})
        explorer = define(
            session,
            START,
            code="explorer",
            goal={"kind": "distinct", "field": "line.category", "target": 4},
            window={"kind": "calendar", "period": "month"},
            reward={"points": 40},
        )
    rows = []
    for i in range(60):  # member i % 4, hourly, each order one category in turn
        at = (START + timedelta(hours=i)).isoformat()
        email = f"m{i % 4 + 1}@example.se"
        rows.append([f"o-{i}", email, at, "K1", CATEGORIES[i // 4 % 4], 1, 5000])
    file = write_csv(tmp_path / "p.csv", HEADER, rows)
    first = purchases.run(factory, file, now=START + timedelta(days=3), batch_size=7)
    assert (first.written, first.rejected) == (60, 0)

    def state() -> dict[tuple[str, int], tuple[int, int, str]]:
        with transaction(factory, read_only=True) as session:
            return {
                (code, member_id): (progress, completions, status)
                for code, member_id, progress, completions, status in session.execute(
                    select(
                        Challenge.code,
                        ChallengeProgress.member_id,
                        ChallengeProgress.progress,
                        ChallengeProgress.completions,
                        ChallengeProgress.state,
                    ).join(Challenge, Challenge.id == ChallengeProgress.challenge_id)
                )
            }

    before = state()
    # each member bought 15 times: "five" completed once; every 4th order moved to the next
    # category, so each member saw all four categories
    assert {k: v for k, v in before.items() if k[0] == "five"} == {
        ("five", m): (0, 1, "done") for m in (1, 2, 3, 4)
    }
    assert all(v == (0, 1, "done") for k, v in before.items() if k[0] == "explorer")
    with transaction(factory, read_only=True) as session:
        for member_id in (1, 2, 3, 4):
            assert sorted(e.points for e in challenge_entries(session, member_id)) == [40, 100]
        assert ledger_queries.verify(session) == []
        assert five.id != explorer.id

    again = purchases.run(factory, file, now=START + timedelta(days=3), batch_size=11)
    assert (again.written, again.skipped) == (0, 60)
    assert state() == before


# ---------------------------------------------------------------- batches versus one at a time

purchase_plans = st.lists(
    st.tuples(
        st.integers(0, 2),  # member
        st.integers(0, 24 * 21),  # hours after START
        st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=25,
)
CHALLENGES: list[dict[str, Any]] = [
    {
        "code": "count",
        "goal": {"kind": "count", "target": 3},
        "window": {"kind": "rolling", "days": 7},
        "repeatable": True,
    },
    {
        "code": "distinct",
        "goal": {"kind": "distinct", "field": "line.category", "target": 3},
        "window": {"kind": "calendar", "period": "week"},
        "repeatable": True,
        "reward": {"points": 5},
    },
    {
        "code": "streak",
        "goal": {"kind": "streak", "period": "day", "target": 3},
        "repeatable": True,
        "max_completions": 2,
    },
    {
        "code": "coffee-spend",
        "goal": {"kind": "sum", "target": 20_000},
        "when": {"field": "line.category", "op": "eq", "value": "coffee"},
    },
]


def test_a_batch_counts_what_one_purchase_at_a_time_counts(
    backend: str, session: Session, program: ProgramConfig
) -> None:
    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(plan=purchase_plans, cuts=st.sets(st.integers(1, 24), max_size=5))
    def check(plan: list[tuple[int, int, list[str]]], cuts: set[int]) -> None:
        timeline = sorted(plan, key=lambda p: p[1])
        one_by_one = run(session, timeline, batches=None)
        batched = run(session, timeline, batches=sorted(c for c in cuts if c < len(timeline)))
        assert batched == one_by_one

    check()


def run(
    session: Session, timeline: list[tuple[int, int, list[str]]], batches: list[int] | None
) -> Any:
    """Record the timeline (one at a time, or in batches cut at ``batches``) in a savepoint
    that is rolled back; what the challenges made of it, by challenge code and member."""
    savepoint = session.begin_nested()
    try:
        for data in CHALLENGES:
            define(session, START, name=data["code"], **data)
        members = [
            enrol(session, data=MemberCreate(email=f"b{next(_ids)}@example.se"), now=START).id
            for _ in range(3)
        ]
        run_id = next(_ids)
        orders = [
            BulkPurchase(
                order_id=f"r{run_id}-{i}",
                member_id=members[who],
                occurred_at=START + timedelta(hours=hours),
                lines=tuple(LineFacts.of(f"S-{c}", 10_000, category=c) for c in cats),
            )
            for i, (who, hours, cats) in enumerate(timeline)
        ]
        now = START + timedelta(days=30)
        if batches is None:
            for order in orders:
                purchase = PurchaseCreate(
                    member_id=order.member_id,
                    order_id=order.order_id,
                    occurred_at=order.occurred_at,
                    lines=[
                        {"sku": line.sku, "category": line.category, "unit_price_minor": 10_000}
                        for line in order.lines
                    ],
                )
                activities.record_purchase(session, data=purchase, now=now)
        else:
            bounds = [0, *batches, len(orders)]
            for start, end in itertools.pairwise(bounds):
                import_purchases(session, orders[start:end], now)
        index = {member_id: i for i, member_id in enumerate(members)}
        progress = sorted(
            (code, index[m], attempt, state, value, done, start, end)
            for code, m, attempt, state, value, done, start, end in session.execute(
                select(
                    Challenge.code,
                    ChallengeProgress.member_id,
                    ChallengeProgress.attempt,
                    ChallengeProgress.state,
                    ChallengeProgress.progress,
                    ChallengeProgress.completions,
                    ChallengeProgress.window_start,
                    ChallengeProgress.window_end,
                ).join(Challenge, Challenge.id == ChallengeProgress.challenge_id)
            )
        )
        completed = sorted(
            (code, index[m], attempt, at, points)
            for code, m, attempt, at, points in session.execute(
                select(
                    Challenge.code,
                    ChallengeCompletion.member_id,
                    ChallengeCompletion.attempt,
                    ChallengeCompletion.completed_at,
                    ChallengeCompletion.points,
                ).join(Challenge, Challenge.id == ChallengeCompletion.challenge_id)
            )
        )
        balances = [ledger_queries.balance(session, m).pending for m in members]
        return progress, completed, balances
    finally:
        savepoint.rollback()
        session.expunge_all()
