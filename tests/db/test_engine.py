"""The SQLite engine's settings reach every connection it opens."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from lojal.app import create_app
from lojal.config import Settings
from lojal.db.engine import make_engine


def _cache_kib(url: str, mib: int | None = None) -> int:
    engine = make_engine(url) if mib is None else make_engine(url, sqlite_cache_mib=mib)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("PRAGMA cache_size")).scalar_one())
    finally:
        engine.dispose()


def test_the_page_cache_is_the_setting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert _cache_kib(url) == -64 * 1024  # negative: KiB, not pages
    assert _cache_kib(url, 2) == -2 * 1024


def test_the_server_takes_it_from_its_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    app = create_app(Settings(database_url=url, environment="test", sqlite_cache_mib=3))
    with app.state.session_factory() as session:
        assert session.execute(text("PRAGMA cache_size")).scalar_one() == -3 * 1024
