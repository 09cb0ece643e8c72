"""Test fixtures: every test that takes ``session``, ``client`` or ``fresh_engine`` runs on
SQLite and on a real PostgreSQL server started from the local binaries.

``session`` and ``client`` run inside one transaction that is rolled back after the test.
``fresh_engine`` gives a new, migrated, empty database whose commits are real (concurrency).
Under CI (``CI=true``) a PostgreSQL that cannot start fails the run instead of skipping.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lojal.app import create_app
from lojal.clock import FixedClock
from lojal.config import Settings
from lojal.db.engine import make_engine
from lojal.db.migrate import upgrade
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.staff import service as staff
from tests import pgserver

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
BACKENDS = ("sqlite", "postgresql")
PEPPER = "test-pepper"
_counter = itertools.count()

DEFAULT_PROGRAM: dict[str, Any] = {
    "name": "Testklubben",
    "currency": "SEK",
    "timezone": "Europe/Stockholm",
    "point_name": "points",
    "pending_days": 14,
    "expiry": {"months": 12, "round_to_month_end": False},
    "rules": [{"id": "base", "kind": "base", "points": 1}],
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default="sqlite,postgresql",
        help="comma-separated backends to run database tests on",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = [b for b in metafunc.config.getoption("--db").split(",") if b in BACKENDS]
        metafunc.parametrize("backend", chosen, scope="session")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PostgresServer | str]:
    url = os.environ.get("LOJAL_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    try:
        server = pgserver.start()
    except (pgserver.PostgresUnavailable, OSError, Exception) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and could not start: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    yield server
    server.stop()


def new_database_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="lojal-test-"))
        return f"sqlite:///{directory / 'lojal.db'}"
    server = request.getfixturevalue("pg_server")
    name = f"lojal_test_{os.getpid()}_{next(_counter)}"
    if isinstance(server, str):
        from sqlalchemy import create_engine, text

        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return server.rsplit("/", 1)[0] + f"/{name}"
    url: str = server.create_database(name)
    return url


def migrated_engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


@pytest.fixture(scope="session")
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    return new_database_url(backend, request)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = migrated_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_engine(backend: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A new, empty, migrated database whose transactions really commit."""
    engine = migrated_engine(new_database_url(backend, request))
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions bound to one connection whose outer transaction is rolled back at the end;
    code under test commits to savepoints."""
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield factory
    outer.rollback()
    connection.close()


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


def apply_program(session: Session, now: datetime, **overrides: Any) -> ProgramConfig:
    config = ProgramConfig.model_validate({**DEFAULT_PROGRAM, **overrides})
    program_service.apply(session, config=config, source=None, now=now)
    return config


@pytest.fixture
def program(session: Session, clock: FixedClock) -> ProgramConfig:
    return apply_program(session, clock.now())


# The keys of ``Api``: name, kind, and a till's store. "pos" is a till of store TILL_STORE;
# "web" and "integration" are two web shops' keys.
TILL_STORE = "store-1"
KEYS = (
    ("admin", "admin", None),
    ("integration", "integration", None),
    ("web", "integration", None),
    ("pos", "till", TILL_STORE),
    ("app", "app", None),
)


class Api:
    """A test client with one key per kind (``KEYS``)."""

    def __init__(self, client: TestClient, keys: dict[str, str]) -> None:
        self.client = client
        self.keys = keys

    def headers(
        self, scope: str = "admin", idempotency_key: str | None = None, handle: str | None = None
    ) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.keys[scope]}"}
        if idempotency_key is not None:
            h["Idempotency-Key"] = idempotency_key
        if handle is not None:
            h["Lojal-Member-Handle"] = handle
        return h

    def handle(self, **identity: str) -> str:
        """The till's ("pos") member handle for the member with this card, email or phone."""
        r = self.get("/till/members", scope="pos", params=identity)
        assert r.status_code == 200, r.text
        handle: str = r.json()["handle"]
        return handle

    def get(self, path: str, scope: str = "admin", handle: str | None = None, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers(scope, None, handle), **kw)

    def post(
        self,
        path: str,
        json: Any = None,
        scope: str = "admin",
        idempotency_key: str | None = None,
        handle: str | None = None,
        **kw: Any,
    ) -> Any:
        return self.client.post(
            f"/api/v1{path}", json=json, headers=self.headers(scope, idempotency_key, handle), **kw
        )

    def put(self, path: str, json: Any = None, scope: str = "admin") -> Any:
        return self.client.put(f"/api/v1{path}", json=json, headers=self.headers(scope))

    def patch(self, path: str, json: Any = None, scope: str = "admin") -> Any:
        return self.client.patch(f"/api/v1{path}", json=json, headers=self.headers(scope))


@contextmanager
def serve_api(
    database_url: str,
    session_factory: sessionmaker[Session],
    session: Session,
    clock: FixedClock,
    **settings: Any,
) -> Iterator[Api]:
    """The app on the test's database and transaction, with one key per scope; ``settings``
    override the test settings (``rate_limit_per_key=5``)."""
    config = Settings(
        database_url=database_url, environment="test", api_key_pepper=PEPPER, **settings
    )
    app = create_app(config, clock=clock)
    app.state.engine.dispose()
    app.state.session_factory = session_factory
    # reads go through the test's transaction too (the held reader's own connection would
    # not see it): tests/coupons/test_held_reader.py runs that path on committed data
    app.state.reader = None
    keys = {}
    for scope, kind, store in KEYS:
        _, keys[scope] = staff.create_key(
            session, name=f"test-{scope}", kind=kind, store_id=store, pepper=PEPPER, now=clock.now()
        )
    session.commit()
    # writes run in the test's transaction too
    app.state.writer.factory = session_factory
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, keys)


@pytest.fixture
def api(
    database_url: str,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    clock: FixedClock,
    program: ProgramConfig,
) -> Iterator[Api]:
    with serve_api(database_url, session_factory, session, clock) as served:
        yield served
