"""The held reader (SQLite, on the event loop): every read is a transaction of its own that
sees what others committed before it, keeps one snapshot while it runs, and leaves nothing
open or loaded behind it — also after an error or a rollback inside it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, text

from lojal.db.driver import Driver
from lojal.db.session import HeldReader, make_session_factory, transaction
from lojal.staff import service as staff
from lojal.staff.models import ApiKey
from tests.conftest import migrated_engine, new_database_url

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    engine = migrated_engine(new_database_url("sqlite", request))
    yield engine
    engine.dispose()


@pytest.fixture
def reader(engine: Engine) -> Iterator[HeldReader]:
    reader = HeldReader(engine)
    yield reader
    reader.close()


def _add_key(engine: Engine, name: str) -> None:
    with transaction(make_session_factory(engine)) as session:
        staff.create_key(session, name=name, kind="integration", pepper="p", now=NOW)


def _names(reader: HeldReader) -> list[str]:
    with reader.read() as session:
        return sorted(session.scalars(select(ApiKey.name)))


def test_each_read_sees_what_was_committed_before_it(engine: Engine, reader: HeldReader) -> None:
    assert _names(reader) == []
    _add_key(engine, "a")
    assert _names(reader) == ["a"]
    _add_key(engine, "b")
    assert _names(reader) == ["a", "b"]


def test_a_read_keeps_one_snapshot(engine: Engine, reader: HeldReader) -> None:
    _add_key(engine, "a")
    with reader.read() as session:
        assert session.scalars(select(ApiKey.name)).all() == ["a"]
        _add_key(engine, "b")  # a writer does not wait for the reader (WAL)
        assert session.scalars(select(ApiKey.name)).all() == ["a"]
    assert _names(reader) == ["a", "b"]


def test_nothing_stays_open_or_loaded_after_a_read(engine: Engine, reader: HeldReader) -> None:
    _add_key(engine, "a")
    with reader.read() as session:
        key = session.scalars(select(ApiKey)).one()
        assert key in session
    assert key not in session
    assert reader.connection is not None
    raw = reader.connection.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    assert raw.in_transaction is False
    # nothing pins the write-ahead log: a full checkpoint completes (busy = 0)
    other = engine.raw_connection()
    try:
        sqlite = other.driver_connection
        assert isinstance(sqlite, sqlite3.Connection)
        busy, _, _ = sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        other.close()
    assert busy == 0


def test_an_error_or_a_rollback_inside_a_read_leaves_the_reader_usable(
    engine: Engine, reader: HeldReader
) -> None:
    _add_key(engine, "a")

    def fails() -> None:
        with reader.read() as session:
            session.execute(text("SELECT 1"))
            raise LookupError("inside the read")

    with pytest.raises(LookupError):
        fails()
    assert _names(reader) == ["a"]
    with reader.read() as session:
        session.execute(text("SELECT 1"))
        session.rollback()
    _add_key(engine, "b")
    assert _names(reader) == ["a", "b"]


def test_reads_do_not_nest(reader: HeldReader) -> None:
    with reader.read(), pytest.raises(RuntimeError, match="not reentrant"), reader.read():
        pass
    assert _names(reader) == []


def test_nothing_is_opened_until_the_first_read(engine: Engine) -> None:
    reader = HeldReader(engine)
    assert reader.connection is None
    reader.close()


def test_sql_on_the_driver_runs_in_the_reads_transaction(
    engine: Engine, reader: HeldReader
) -> None:
    _add_key(engine, "a")
    with reader.read() as session:
        db = Driver.of(session)
        assert db.one("SELECT COUNT(*) FROM api_keys")[0] == 1
        assert not session.in_transaction()  # the driver alone begins no session transaction
        _add_key(engine, "b")
        # the ORM, in the same read, sees the driver's snapshot
        assert session.scalars(select(ApiKey.name)).all() == ["a"]
        assert Driver.of(session) is db
    with reader.read() as session:
        assert Driver.of(session).one("SELECT COUNT(*) FROM api_keys")[0] == 2


def test_a_read_that_cannot_begin_leaves_the_reader_usable(
    engine: Engine, reader: HeldReader
) -> None:
    assert _names(reader) == []
    assert reader.connection is not None
    raw = reader.connection.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    raw.execute("BEGIN")  # a transaction left open underneath: the next BEGIN fails
    with pytest.raises(sqlite3.OperationalError), reader.read():
        pass
    raw.rollback()
    _add_key(engine, "a")
    assert _names(reader) == ["a"]
