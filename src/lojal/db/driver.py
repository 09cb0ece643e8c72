"""SQL on the driver's own cursor, for the few paths where every microsecond counts.

SQLAlchemy builds, caches and runs a statement in about 55 µs on the reference machine (a
prebuilt ``select()``; about 200 µs when the statement is built per call, several hundred in
the ORM's unit of work); the driver itself (sqlite3, psycopg) runs the same statement in about
6 µs. Recording a purchase is a dozen statements, and an import runs millions, so the hot
paths — recording purchases (API and import), idempotency records — speak to the driver
directly, inside the session's transaction (``Driver.of(session)``). Everything else uses
SQLAlchemy.

SQL here is written once with ``?`` placeholders (SQLite's style) and turned into ``%s`` for
psycopg. Values are converted by the caller with ``db_time``/``db_json``, the same text
SQLAlchemy's own types store (see ``lojal.db.types``), so the ORM reads these rows back as it
reads its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

_KEY = "lojal.driver"
# A session whose connection never changes and whose transaction its owner runs on the driver
# (lojal.db.session.HeldReader) pins that connection's Driver: no session transaction needed.
_PINNED = "lojal.driver.pinned"


class Driver:
    """The DBAPI connection under a SQLAlchemy connection, with the dialect's conventions."""

    __slots__ = ("_error", "_sql", "raw", "sqlite")

    def __init__(self, conn: Connection) -> None:
        self.sqlite = conn.dialect.name == "sqlite"
        self.raw: Any = conn.connection.driver_connection
        self._sql: dict[str, str] = {}
        self._error: type[Exception] = conn.dialect.loaded_dbapi.Error

    @classmethod
    def of(cls, session: Session, *, flush: bool = True) -> Driver:
        """The driver of the session's connection, in the session's current transaction or
        savepoint; ``flush`` first writes what the ORM holds, so that SQL here sees it."""
        if flush:
            session.flush()
        pinned: Driver | None = session.info.get(_PINNED)
        if pinned is not None:
            return pinned
        current = session.get_nested_transaction() or session.get_transaction()
        held = session.info.get(_KEY)
        if held is not None and current is not None and held[0] is current:
            driver: Driver = held[1]
            return driver
        # session.connection() begins the transaction, or emits the SAVEPOINT of a nested one
        conn = session.connection()
        if held is not None and held[1].raw is conn.connection.driver_connection:
            driver = held[1]
        else:
            driver = cls(conn)
        session.info[_KEY] = (session.get_nested_transaction() or session.get_transaction(), driver)
        return driver

    @classmethod
    def pin(cls, session: Session, conn: Connection) -> None:
        """Make ``Driver.of(session)`` the driver of ``conn`` from now on, without beginning
        the session's own transaction (see ``HeldReader``)."""
        session.info[_PINNED] = cls(conn)

    def sql(self, text: str) -> str:
        if self.sqlite:
            return text
        converted = self._sql.get(text)
        if converted is None:
            converted = text.replace("%", "%%").replace("?", "%s")
            self._sql[text] = converted
        return converted

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        cursor = self.raw.cursor()
        try:
            cursor.execute(self.sql(text), params)
        except self._error as exc:
            cursor.close()
            raise self._translate(text, params, exc) from exc
        return cursor

    def _translate(self, text: str, params: Any, exc: Exception) -> Exception:
        """The driver's error as SQLAlchemy's (``IntegrityError``, ``OperationalError`` ...),
        so that callers handle one family of errors whichever way the SQL went. Like the
        engines, it never shows the parameters (a member's data) in its message."""
        return DBAPIError.instance(text, params, exc, self._error, hide_parameters=True)

    def one(self, text: str, params: Sequence[Any] = ()) -> Any:
        cursor = self.execute(text, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()

    def all(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor = self.execute(text, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cursor = self.raw.cursor()
        try:
            cursor.executemany(self.sql(text), rows)
        except self._error as exc:
            raise self._translate(text, rows[:1], exc) from exc
        finally:
            cursor.close()

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            self.many(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            return
        cursor = self.raw.cursor()
        try:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except self._error as exc:
            raise self._translate(f"COPY {table}", rows[:1], exc) from exc
        finally:
            cursor.close()

    def in_chunks(
        self, text: str, values: Sequence[Any], params: Sequence[Any] = (), size: int = 500
    ) -> Iterable[Any]:
        """Rows of ``text`` whose ``IN ({})`` is filled with ``values``, ``size`` at a time."""
        for i in range(0, len(values), size):
            chunk = values[i : i + size]
            marks = ", ".join("?" * len(chunk))
            yield from self.all(text.format(marks), [*params, *chunk])

    def new_ids(self, counts: Mapping[str, int]) -> dict[str, list[int]]:
        """Ids for the rows about to be inserted, per table. SQLite: after max(id), safe
        because the write transaction (BEGIN IMMEDIATE) excludes other writers. PostgreSQL:
        from each table's sequence."""
        tables = list(counts)
        if self.sqlite:
            row = self.one(
                "SELECT "
                + ", ".join(f"(SELECT COALESCE(MAX(id), 0) FROM {table})" for table in tables)
            )
            return {
                table: list(range(int(start) + 1, int(start) + 1 + counts[table]))
                for table, start in zip(tables, row, strict=True)
            }
        return {
            table: [
                int(r[0])
                for r in self.all(
                    f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                    "FROM generate_series(1, ?)",
                    (counts[table],),
                )
            ]
            if counts[table]
            else []
            for table in tables
        }

    # ------------------------------------------------------------------ values

    def time(self, value: datetime) -> Any:
        """A timezone-aware time as this database stores it (``UTCDateTime``)."""
        return sqlite_time(value) if self.sqlite else value

    def json(self, value: Any) -> str:
        return orjson.dumps(value).decode()

    def read_time(self, value: Any) -> datetime:
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        assert isinstance(value, datetime)
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    def read_json(self, value: Any) -> Any:
        if isinstance(value, (str, bytes)):
            return orjson.loads(value)
        return value


def sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite ``DateTime`` stores for a UTC time:
    ``2026-03-02 09:15:00.000000`` (naive UTC, always six digits of microseconds)."""
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat(" ")
    return text if value.microsecond else text + ".000000"
