"""Engines for SQLite (the embedded default) and PostgreSQL.

SQLite is set up for a server with concurrent writers: WAL, foreign keys on, a busy timeout,
and ``BEGIN IMMEDIATE`` for transactions that write. A deferred ``BEGIN`` would take the write
lock only at the first write and fail with "database is locked" when two writers upgrade at
once; pysqlite's own transaction handling is switched off so that SQLAlchemy's BEGIN (and
savepoints) are the ones that run. Read-only sessions use a plain ``BEGIN`` so that readers
never wait for writers.

Both engines hide the statements' parameters (``hide_parameters``): an error or an echoed
statement would otherwise print a member's data into the logs (see ``db.failures``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

READ_ONLY = "lojal_read_only"
# A connection whose database transactions its owner begins and ends on the driver itself
# (lojal.db.session.HeldReader): SQLAlchemy's begin emits nothing.
HELD = "lojal_held"
log = logging.getLogger("lojal.db")


def make_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    busy_timeout_ms: int = 30_000,
    auto_checkpoint: bool = True,
    sqlite_cache_mib: int = 64,
) -> Engine:
    """An engine for ``url``. SQLite: ``busy_timeout_ms`` is how long a write waits for another
    connection's write lock before "database is locked"; ``auto_checkpoint=False`` leaves
    copying the write-ahead log into the database to a ``Checkpointer``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(
            url,
            echo=echo,
            busy_timeout_ms=busy_timeout_ms,
            auto_checkpoint=auto_checkpoint,
            cache_mib=sqlite_cache_mib,
        )
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return create_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            pool_pre_ping=True,
            hide_parameters=True,
        )
    raise ValueError(
        f"unsupported database URL {parsed.render_as_string()!r}: use sqlite or postgresql"
    )


def _sqlite_engine(
    url: str, *, echo: bool, busy_timeout_ms: int, auto_checkpoint: bool, cache_mib: int
) -> Engine:
    parsed = make_url(url)
    memory = parsed.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
    }
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, echo=echo, hide_parameters=True, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not pysqlite, emits BEGIN
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute(f"PRAGMA cache_size=-{int(cache_mib) * 1024}")  # in KiB
        if not auto_checkpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(HELD):
            return
        if options.get(READ_ONLY):
            # straight to the driver: a deferred BEGIN takes no lock and cannot fail on one,
            # and SQLAlchemy's statement path costs ~10x the statement (lojal.db.driver)
            conn.connection.driver_connection.execute("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Checkpointer:
    """Copies SQLite's write-ahead log into the database file from a thread of its own.

    By default the connection whose commit takes the log past 1,000 pages does this copy (and
    its fsync) itself, inside that commit. The API's writer runs on the event loop, so there
    the copy would stall every request; the writer's connections turn automatic checkpoints
    off and this thread runs a passive checkpoint (which never blocks a writer) every
    ``interval`` seconds instead. SQLite does the work with Python's lock released."""

    def __init__(self, url: str, *, interval: float = 0.25) -> None:
        # a thread of its own may wait for a lock (opening the database may need one)
        self.engine = make_engine(url, busy_timeout_ms=5_000)
        self.interval = interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lojal-checkpoint", daemon=True)

    def start(self) -> Checkpointer:
        self.thread.start()
        return self

    def _run(self) -> None:
        raw: Any = None
        try:
            while not self.stopping.wait(self.interval):
                try:
                    if raw is None:  # a database that cannot open yet is tried again
                        raw = self.engine.raw_connection()
                    raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
                except Exception:  # a checkpoint can always be tried again later
                    log.debug("checkpoint failed", exc_info=True)
            if raw is not None:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
        finally:
            if raw is not None:
                raw.close()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)
        self.engine.dispose()
