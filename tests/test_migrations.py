"""Migrations: up, down and up again on a fresh database, and the models match them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from lojal.db.migrate import downgrade, upgrade
from lojal.db.models import Base


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(fresh_engine: Engine) -> None:
    assert _tables(fresh_engine) == set(Base.metadata.tables)
    downgrade(fresh_engine, "base")
    assert _tables(fresh_engine) == set()
    upgrade(fresh_engine)
    assert _tables(fresh_engine) == set(Base.metadata.tables)


def test_models_match_the_migrations(fresh_engine: Engine) -> None:
    with fresh_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
