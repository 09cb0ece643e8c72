"""Many purchases and events of one member at once, on databases whose commits are real: each
is counted once, the challenge completes once, and its reward is given once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.activities import member_events
from lojal.activities import service as activities
from lojal.activities.schemas import EventCreate, PurchaseCreate
from lojal.challenges.models import ChallengeCompletion, ChallengeFact, ChallengeProgress
from lojal.clock import FixedClock
from lojal.db.session import make_session_factory, transaction
from lojal.ledger import queries as ledger_queries
from tests.challenges.helpers import challenge_entries, define
from tests.concurrency import run_together
from tests.conftest import START, apply_program
from tests.factories import make_member

THREADS = 20


@pytest.fixture
def club(fresh_engine: Engine) -> tuple[sessionmaker[Session], int, dict[str, int]]:
    factory = make_session_factory(fresh_engine)
    clock = FixedClock(START)
    with transaction(factory) as session:
        apply_program(session, clock.now())
        member_id = make_member(session, clock).id
        ids = {
            "purchases": define(session, START, goal={"kind": "count", "target": 3}).id,
            "repeat": define(
                session, START, goal={"kind": "count", "target": 2}, repeatable=True
            ).id,
            "surveys": define(
                session,
                START,
                activity="event",
                event_type="survey_answered",
                goal={"kind": "count", "target": 3},
                reward={"points": 30},
            ).id,
        }
    return factory, member_id, ids


def test_concurrent_activity_completes_each_challenge_once(
    club: tuple[sessionmaker[Session], int, dict[str, int]],
) -> None:
    factory, member_id, ids = club

    def work(i: int) -> None:
        # all at the same moment: activity that happened before the last completion does
        # not count again, so the threads' commit order must not matter here
        at = START + timedelta(minutes=1)
        with transaction(factory) as session:
            if i % 2:
                data: Any = EventCreate(
                    member_id=member_id, event_id=f"ev-{i}", type="survey_answered", occurred_at=at
                )
                member_events.record_event(session, data=data, now=at)
            else:
                data = PurchaseCreate(
                    member_id=member_id,
                    order_id=f"o-{i}",
                    occurred_at=at,
                    lines=[{"sku": "K1", "unit_price_minor": 1000}],
                )
                activities.record_purchase(session, data=data, now=at)

    results = run_together(THREADS, work)
    assert [r for r in results if r is not None] == []
    with transaction(factory, read_only=True) as session:

        def count(model: Any, challenge_id: int) -> int:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(model)
                    .where(model.challenge_id == challenge_id)
                )
                or 0
            )

        assert count(ChallengeCompletion, ids["purchases"]) == 1
        assert count(ChallengeFact, ids["purchases"]) == 3  # then it was done
        assert count(ChallengeCompletion, ids["surveys"]) == 1
        assert count(ChallengeFact, ids["surveys"]) == 3
        # ten purchases, two per completion: five completions, every purchase counted once
        assert count(ChallengeCompletion, ids["repeat"]) == 5
        assert count(ChallengeFact, ids["repeat"]) == 10
        progress = session.scalar(
            select(ChallengeProgress).where(ChallengeProgress.challenge_id == ids["repeat"])
        )
        assert progress is not None
        assert (progress.completions, progress.attempt, progress.state) == (5, 6, "idle")
        assert sorted(e.points for e in challenge_entries(session, member_id)) == [
            30,
            *[100] * 6,
        ]
        assert ledger_queries.verify(session) == []
