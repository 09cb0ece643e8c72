"""Scheduled jobs: activation and expiry run twice change nothing the second time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.jobs.service import run_due
from lojal.ledger import queries as ledger_queries
from lojal.ledger.models import JournalEntry
from lojal.program.schemas import ProgramConfig
from tests.factories import make_member, make_purchase


def _entries(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(JournalEntry)) or 0)


def test_jobs_run_twice_are_harmless(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    members = [make_member(session, clock) for _ in range(3)]
    for m in members:
        make_purchase(session, clock, member_id=m.id)
    session.commit()
    clock.advance(timedelta(days=14))
    first = run_due(session_factory, clock=clock)
    assert first.activated == 3
    count = _entries(session)
    second = run_due(session_factory, clock=clock)
    assert (second.activated, second.expired) == (0, 0)
    assert _entries(session) == count
    clock.advance(timedelta(days=400))
    assert run_due(session_factory, clock=clock).expired == 3
    count = _entries(session)
    again = run_due(session_factory, clock=clock)
    assert (again.activated, again.expired) == (0, 0)
    assert _entries(session) == count
    session.expire_all()
    for m in members:
        balance = ledger_queries.balance(session, m.id)
        assert (balance.pending, balance.available, balance.lifetime_expired) == (0, 0, 100)
    assert ledger_queries.verify(session) == []


def test_points_earned_long_ago_activate_and_expire_in_one_run(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    m = make_member(session, clock)
    make_purchase(session, clock, member_id=m.id)
    session.commit()
    clock.advance(timedelta(days=366))
    summary = run_due(session_factory, clock=clock)
    assert summary.activated == 1
    assert summary.expired == 1
    session.expire_all()
    balance = ledger_queries.balance(session, m.id)
    assert (balance.pending, balance.available, balance.lifetime_expired) == (0, 0, 100)
    assert ledger_queries.verify(session) == []
