"""Concurrent spends on both databases: with 100 points and twenty spends of 10 at once, exactly
ten succeed; twenty spends with the same key spend once. The balance never goes negative."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.db.session import make_session_factory, transaction
from lojal.ledger import queries as ledger_queries
from lojal.ledger import service as ledger
from lojal.ledger.errors import InsufficientPoints
from lojal.ledger.models import JournalEntry
from tests.concurrency import run_together
from tests.conftest import START, apply_program
from tests.factories import make_member

THREADS = 20


@pytest.fixture
def setup(fresh_engine: Engine) -> tuple[sessionmaker[Session], int]:
    factory = make_session_factory(fresh_engine)
    clock = FixedClock(START)
    with transaction(factory) as session:
        config = apply_program(session, clock.now())
        member_id = make_member(session, clock).id
        ledger.adjust(
            session,
            member_id=member_id,
            points=100,
            reason="starting points",
            key="grant:start",
            now=clock.now(),
            config=config,
        )
    return factory, member_id


def spend(factory: sessionmaker[Session], member_id: int, key: str) -> int:
    with transaction(factory) as session:
        entry = ledger.spend(session, member_id=member_id, points=10, key=key, now=START)
        available = ledger_queries.balance(session, member_id).available
        assert available >= 0
        return entry.id


def final_state(factory: sessionmaker[Session], member_id: int) -> tuple[int, int, list[str]]:
    with transaction(factory, read_only=True) as session:
        balance = ledger_queries.balance(session, member_id)
        spends = (
            session.scalar(
                select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == "spend")
            )
            or 0
        )
        return balance.available, spends, ledger_queries.verify(session)


def test_concurrent_spends_never_overdraw(
    backend: str, setup: tuple[sessionmaker[Session], int]
) -> None:
    factory, member_id = setup
    results = run_together(THREADS, lambda i: spend(factory, member_id, f"spend:{i}"))
    succeeded = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    others = [r for r in results if not isinstance(r, (int, InsufficientPoints))]
    assert others == []
    assert len(succeeded) == 10
    assert len(refused) == 10
    assert len(set(succeeded)) == 10
    available, spends, problems = final_state(factory, member_id)
    assert available == 0
    assert spends == 10
    assert problems == []


def test_concurrent_spends_with_the_same_key_spend_once(
    backend: str, setup: tuple[sessionmaker[Session], int]
) -> None:
    factory, member_id = setup
    results = run_together(THREADS, lambda i: spend(factory, member_id, "spend:same"))
    assert [r for r in results if not isinstance(r, int)] == []
    assert len(set(results)) == 1  # every caller got the one entry
    available, spends, problems = final_state(factory, member_id)
    assert available == 90
    assert spends == 1
    assert problems == []
