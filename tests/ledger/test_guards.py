"""The database itself keeps the ledger honest: postings and journal entries cannot be changed
or deleted, an unbalanced entry cannot be committed (PostgreSQL), and balances cannot go
negative — whatever code, or person with a SQL prompt, tries."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.db.session import make_session_factory, transaction
from lojal.ledger import queries as ledger_queries
from lojal.ledger import service as ledger
from lojal.program.schemas import ProgramConfig
from tests.conftest import START, apply_program
from tests.factories import make_member


@pytest.fixture
def member_id(session: Session, clock: FixedClock, program: ProgramConfig) -> int:
    member = make_member(session, clock)
    ledger.adjust(
        session,
        member_id=member.id,
        points=100,
        reason="welcome",
        key="guard:grant",
        now=clock.now(),
        config=program,
    )
    ledger.spend(session, member_id=member.id, points=30, key="guard:spend", now=clock.now())
    session.flush()
    return member.id


def refused(session: Session, sql: str, **params: object) -> str:
    """Run ``sql`` in a savepoint and return the database's refusal."""
    with pytest.raises(DBAPIError) as info, session.begin_nested():
        session.execute(text(sql), params)
    return str(info.value.orig)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE postings SET amount = amount * 2 WHERE member_id = :m",
        "UPDATE postings SET account = 'member_pending' WHERE member_id = :m",
        "DELETE FROM postings WHERE member_id = :m",
        "UPDATE journal_entries SET points = 1 WHERE member_id = :m",
        "UPDATE journal_entries SET key = key || '-x' WHERE member_id = :m",
        "DELETE FROM journal_entries WHERE member_id = :m",
    ],
)
def test_the_ledger_is_append_only(
    backend: str, session: Session, member_id: int, sql: str
) -> None:
    message = refused(session, sql, m=member_id)
    assert "append-only" in message
    assert ledger_queries.verify(session) == []
    assert ledger_queries.balance(session, member_id).available == 70


def test_the_refusal_is_an_integrity_error(backend: str, session: Session, member_id: int) -> None:
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(text("DELETE FROM postings WHERE member_id = :m"), {"m": member_id})


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE point_balances SET available = -1 WHERE member_id = :m",
        "UPDATE point_balances SET pending = -5 WHERE member_id = :m",
        "UPDATE point_balances SET available = available - 71 WHERE member_id = :m",
    ],
)
def test_balances_cannot_go_negative(
    backend: str, session: Session, member_id: int, sql: str
) -> None:
    message = refused(session, sql, m=member_id)
    assert "not_negative" in message or "CHECK" in message.upper()
    assert ledger_queries.balance(session, member_id).available == 70


def test_lots_cannot_hold_more_than_they_earned_or_less_than_nothing(
    backend: str, session: Session, member_id: int
) -> None:
    refused(session, "UPDATE point_lots SET remaining = -1 WHERE member_id = :m", m=member_id)
    refused(
        session, "UPDATE point_lots SET remaining = points + 1 WHERE member_id = :m", m=member_id
    )


@pytest.fixture
def committed_member(fresh_engine: Engine) -> tuple[Engine, int]:
    factory = make_session_factory(fresh_engine)
    clock = FixedClock(START)
    with transaction(factory) as session:
        apply_program(session, clock.now())
        member_id = make_member(session, clock).id
    return fresh_engine, member_id


def insert_entry(conn, member_id: int, key: str) -> int:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO journal_entries (member_id, kind, key, effective_at, recorded_at, "
            "points, explanation, detail) VALUES (:m, 'adjust', :k, :t, :t, 10, 'x', '{}')"
        ),
        {"m": member_id, "k": key, "t": START.replace(tzinfo=None)},
    )
    return int(
        conn.execute(text("SELECT id FROM journal_entries WHERE key = :k"), {"k": key}).scalar_one()
    )


def insert_posting(
    conn: Connection,
    entry_id: int,
    member_id: int,
    account: str,
    amount: int,
) -> None:
    conn.execute(
        text("INSERT INTO postings (entry_id, member_id, account, amount) VALUES (:e, :m, :a, :n)"),
        {"e": entry_id, "m": member_id, "a": account, "n": amount},
    )


def test_an_unbalanced_entry_is_refused_or_reported(
    backend: str,
    committed_member: tuple[Engine, int],
) -> None:
    """PostgreSQL refuses the commit (a deferred constraint trigger). SQLite has no deferred
    triggers: lojal never writes an unbalanced entry (``entries.check_balanced``), and
    ``lojal ledger verify`` reports one written by hand."""
    engine, member_id = committed_member
    conn = engine.connect()
    conn.begin()
    entry_id = insert_entry(conn, member_id, "raw:unbalanced")
    insert_posting(conn, entry_id, member_id, "program_adjusted", -10)
    insert_posting(conn, entry_id, member_id, "program_adjusted", 20)
    # each statement was accepted: the check is deferred to the commit
    if backend == "postgresql":
        with pytest.raises(IntegrityError, match="does not balance: its postings sum to 10"):
            conn.commit()
        conn.close()
        return
    conn.commit()
    conn.close()
    with transaction(make_session_factory(engine), read_only=True) as session:
        assert f"entry {entry_id} sums to 10" in ledger_queries.verify(session)
