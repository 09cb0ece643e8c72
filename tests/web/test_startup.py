"""A server process's start-up (``create_app(..., freeze_gc=True)``, as ``lojal serve``): what
the first request would pay for is paid before it, and a database that cannot be opened does
not stop the server from starting (its requests answer with why)."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lojal.app import create_app
from lojal.config import Settings
from tests.conftest import migrated_engine, new_database_url


def _start(url: str) -> tuple[bool, int]:
    """Start and stop the app; (held connection open after start-up, health status)."""
    app = create_app(Settings(database_url=url, environment="test"), freeze_gc=True)
    try:
        with TestClient(app) as client:
            opened = app.state.reader.connection is not None
            status = client.get("/healthz").status_code
    finally:
        gc.unfreeze()
    return opened, status


def test_start_up_opens_the_held_connection(
    request: pytest.FixtureRequest,
) -> None:
    url = new_database_url("sqlite", request)
    migrated_engine(url).dispose()
    assert _start(url) == (True, 200)


def test_a_database_that_cannot_open_does_not_stop_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'lojal.db'}"
    with caplog.at_level(logging.WARNING, logger="lojal.app"):
        assert _start(url) == (False, 200)
    assert "could not open the database at start-up" in caplog.text
