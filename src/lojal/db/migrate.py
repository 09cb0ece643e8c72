"""Alembic, driven from code: ``lojal db upgrade`` and the tests call ``upgrade()``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from lojal.db.errors import DatabaseNotReady, DatabaseUnreachable

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@cache
def _revisions() -> tuple[str | None, frozenset[str]]:
    """The head revision and every revision this lojal knows."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return scripts.get_current_head(), frozenset(r.revision for r in scripts.walk_revisions())


def require_current(engine: Engine) -> None:
    """Refuse, with the fix, a database lojal cannot work on: a SQLite file that does not
    exist (it is not created here: a mistyped path would leave an empty database behind), a
    database that was never migrated or is behind, one migrated by a newer lojal, or a server
    that cannot be reached."""
    url = engine.url
    shown = url.render_as_string(hide_password=True)
    file = url.database if url.get_backend_name() == "sqlite" else None
    if file not in (None, "", ":memory:") and not Path(str(file)).exists():
        raise DatabaseNotReady(
            f"there is no database at {file}: create it with `lojal db upgrade` "
            "(or `lojal demo`), or give the right --database-url / LOJAL_DATABASE_URL"
        )
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        raise DatabaseUnreachable(
            f"cannot open the database at {shown} ({reason}): check that it is running and "
            "that --database-url / LOJAL_DATABASE_URL is right"
        ) from exc
    head, known = _revisions()
    if current is None:
        raise DatabaseNotReady(
            f"the database at {shown} has no lojal tables: run `lojal db upgrade` first"
        )
    if current not in known:
        raise DatabaseNotReady(
            f"the database at {shown} was migrated by a newer lojal (revision {current}): "
            "run that version of lojal"
        )
    if current != head:
        raise DatabaseNotReady(
            f"the database at {shown} is at schema revision {current}, this lojal needs "
            f"{head}: run `lojal db upgrade`"
        )
