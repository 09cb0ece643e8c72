"""The checkpoint thread (SQLite): what connections without automatic checkpoints commit to the
write-ahead log reaches the database file, and a database that cannot be opened does not kill
the thread or the process."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from lojal.db.engine import Checkpointer, make_engine


def _rows_in_the_main_file(db: Path, tmp: Path) -> int:
    """The rows of ``t`` in the database file alone (a copy without its write-ahead log)."""
    copy = tmp / "copy.db"
    shutil.copyfile(db, copy)
    conn = sqlite3.connect(copy)
    try:
        found = conn.execute("SELECT name FROM sqlite_master WHERE name = 't'").fetchone()
        return int(conn.execute("SELECT COUNT(*) FROM t").fetchone()[0]) if found else 0
    finally:
        conn.close()
        copy.unlink()


def _rows_after_waiting(db: Path, tmp: Path, expected: int) -> int:
    """The rows in the database file once there are ``expected`` of them, or after 10 s."""
    deadline = time.monotonic() + 10
    while (rows := _rows_in_the_main_file(db, tmp)) < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return rows


def test_commits_reach_the_database_file(tmp_path: Path) -> None:
    db = tmp_path / "lojal.db"
    url = f"sqlite:///{db}"
    writer = make_engine(url, auto_checkpoint=False)  # as the API's writer
    raw = writer.raw_connection()
    try:
        sqlite = raw.driver_connection
        assert isinstance(sqlite, sqlite3.Connection)
        sqlite.execute("CREATE TABLE t (x INTEGER)")
        sqlite.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(500)])
        assert _rows_in_the_main_file(db, tmp_path) == 0  # only in the log so far
        checkpointer = Checkpointer(url, interval=0.02).start()
        try:
            assert _rows_after_waiting(db, tmp_path, 500) == 500
        finally:
            checkpointer.stop()
        assert not checkpointer.thread.is_alive()
    finally:
        raw.close()
        writer.dispose()


def test_a_database_that_cannot_open_is_tried_again_without_dying(tmp_path: Path) -> None:
    missing = tmp_path / "not-yet"
    url = f"sqlite:///{missing / 'lojal.db'}"
    checkpointer = Checkpointer(url, interval=0.02).start()
    try:
        time.sleep(0.1)
        assert checkpointer.thread.is_alive()  # still trying, not dead
        missing.mkdir()
        conn = sqlite3.connect(missing / "lojal.db")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
        conn.commit()
        assert _rows_after_waiting(missing / "lojal.db", tmp_path, 10) == 10
        conn.close()
    finally:
        checkpointer.stop()
    assert not checkpointer.thread.is_alive()
