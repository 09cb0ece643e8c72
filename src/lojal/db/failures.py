"""What the logs may say about a database error: never a member's data.

A database error carries the statement's bound parameters (names, e-mail addresses, order
ids), and PostgreSQL's own message often quotes them too (``DETAIL: Key (email)=(…) already
exists``, ``Failing row contains (…)``, ``invalid input syntax for type integer: "…"``). The
engines are made with ``hide_parameters=True`` (``db.engine``, and ``db.driver`` for its own
errors), and the server logs a database error through ``log_failure``: its kind, SQLSTATE,
the constraint, table and column it names, the statement's first line (placeholders only) and
the stack — not the driver's message and not the parameters.
"""

from __future__ import annotations

import logging
import sqlite3
import traceback
from collections.abc import Iterator

from sqlalchemy.exc import StatementError


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_database(exc: BaseException) -> bool:
    if isinstance(exc, StatementError | sqlite3.Error):
        return True
    module = type(exc).__module__
    return module == "psycopg" or module.startswith("psycopg.")


def involves_database(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was raised while handling, a database error."""
    return any(_is_database(e) for e in _chain(exc))


def describe(exc: BaseException) -> str:
    """A database error in words that hold no data: ``IntegrityError (UniqueViolation,
    SQLSTATE 23505, constraint uq_identities_kind_value, table identities) in INSERT INTO
    identities (…)``."""
    outer = type(exc).__name__
    parts: list[str] = []
    statement: str | None = None
    for e in _chain(exc):
        if isinstance(e, StatementError) and statement is None:
            statement = e.statement
        orig = getattr(e, "orig", None) or (e if _is_database(e) else None)
        if orig is None or isinstance(orig, StatementError):
            continue
        parts.append(type(orig).__name__)
        if isinstance(orig, sqlite3.Error):
            # SQLite's messages name the constraint or column, never the values
            parts.append(str(orig).splitlines()[0][:200])
        sqlstate = getattr(orig, "sqlstate", None)
        if sqlstate:
            parts.append(f"SQLSTATE {sqlstate}")
        diag = getattr(orig, "diag", None)
        for label, attr in (
            ("constraint", "constraint_name"),
            ("table", "table_name"),
            ("column", "column_name"),
        ):
            value = getattr(diag, attr, None) if diag is not None else None
            if value:
                parts.append(f"{label} {value}")
        break
    text = f"{outer} ({', '.join(parts)})" if parts else outer
    if statement:
        first = " ".join(statement.split())[:120]
        text += f" in {first}"
    return text


def log_failure(log: logging.Logger, message: str, exc: BaseException) -> None:
    """``log.exception(message)``, but for a database error only what ``describe`` says and
    the stack (where it happened), without any exception's message."""
    if not involves_database(exc):
        log.error(message, exc_info=exc)
        return
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s: %s\n%s", message, describe(exc), stack.rstrip())
