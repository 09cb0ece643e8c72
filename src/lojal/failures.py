"""What the ``lojal`` command says when it cannot do what it was asked: one line that names
the problem and the fix, and a non-zero exit code. No traceback reaches the terminal.

- a domain error (``LojalError``): its code and detail; the exit code by its kind;
- settings the environment or the options give that lojal refuses (a production setting
  without its secret, a database URL lojal cannot use): the setting and why;
- a file that cannot be read: the file and why;
- a database that answers with an error (no schema, cannot connect): what it said and the
  command or setting that fixes it;
- anything else is a defect in lojal: the sentence says so, and the traceback goes to a log
  file whose path the sentence gives.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from lojal.db.errors import DatabaseNotReady, DatabaseUnreachable
from lojal.errors import Conflict, Forbidden, Invalid, LojalError, NotFound, Unauthorized
from lojal.inputs import yaml_problem

# The exit codes a script can rely on. 2 is also what the command line parser gives for an
# option it refuses.
UNEXPECTED = 1
INVALID = 2
CONFLICT = 3
NOT_FOUND = 4
REFUSED = 5
DATABASE = 6
SETTINGS = 7
FILE = 8
EXIT_CODES: tuple[tuple[type[LojalError], int], ...] = (
    (DatabaseNotReady, DATABASE),
    (DatabaseUnreachable, DATABASE),
    (NotFound, NOT_FOUND),
    (Invalid, INVALID),
    (Conflict, CONFLICT),
    (Unauthorized, REFUSED),
    (Forbidden, REFUSED),
)


def exit_code(error: LojalError) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return UNEXPECTED


def one_line(text: str) -> str:
    return " ".join(text.split())


def explain(error: BaseException) -> tuple[str, int]:
    """The line to print for ``error`` and the exit code; ``UNEXPECTED`` when lojal has
    nothing better to say than that it is a defect."""
    if isinstance(error, LojalError):
        return f"{error.code}: {one_line(error.detail)}", exit_code(error)
    if isinstance(error, ValidationError) and error.title == "Settings":
        return _settings(error), SETTINGS
    if isinstance(error, OSError) and error.filename is not None:
        return f"cannot read {error.filename}: {error.strerror}: check the path", FILE
    if isinstance(error, UnicodeDecodeError):
        return f"a file is not UTF-8 text ({error.reason}): save it as UTF-8", FILE
    if isinstance(error, yaml.YAMLError):
        return f"the file is not valid YAML or JSON: {yaml_problem(error)}", INVALID
    if isinstance(error, DBAPIError) and (said := _database(error)):
        return said, DATABASE
    if isinstance(error, SQLAlchemyError) and "URL" in str(error):
        return (
            f"the database URL cannot be read ({one_line(str(error))}): give one like "
            "sqlite:///lojal.db or postgresql://user@host/dbname"
        ), SETTINGS
    return "", UNEXPECTED


def unexpected(error: BaseException) -> str:
    """The line for an error lojal did not expect; its traceback goes to a log file."""
    what = f"{type(error).__name__}: {one_line(str(error))}".rstrip(": ")
    try:
        log = _write_log(error)
    except OSError:
        return f"lojal stopped on an error it did not expect ({what}); please report it"
    return (
        f"lojal stopped on an error it did not expect ({what}); the details are in {log}, "
        "please report it with that file"
    )


def _settings(error: ValidationError) -> str:
    problems = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        field = ".".join(str(p) for p in problem["loc"])
        name = f"LOJAL_{field.upper()}"
        problems.append(message if not field or name in message else f"{name}: {message}")
    return "the settings are refused: " + one_line("; ".join(problems))


def _database(error: DBAPIError) -> str | None:
    said = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
    lowered = said.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return f"the database has no lojal tables ({said}): run `lojal db upgrade` first"
    if "no such column" in lowered or ("column" in lowered and "does not exist" in lowered):
        return f"the database's schema is older than lojal ({said}): run `lojal db upgrade`"
    if "unable to open database file" in lowered:
        return (
            f"cannot open the SQLite database ({said}): check that its directory exists and "
            "may be written to"
        )
    if error.connection_invalidated or "connect" in lowered or "connection" in lowered:
        return (
            f"cannot reach the database ({said}): check that it is running and that "
            "--database-url / LOJAL_DATABASE_URL is right"
        )
    return None  # a statement lojal got wrong: a defect


def _write_log(error: BaseException) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(tempfile.gettempdir()) / f"lojal-error-{stamp}-{os.getpid()}.log"
    text = "".join(traceback.format_exception(error))
    path.write_text(text, encoding="utf-8")
    return path
