"""The pages on the test's database and transaction, through a TestClient on https (the
cookies are Secure outside development)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from lojal.app import create_app
from lojal.clock import FixedClock
from lojal.config import Settings
from lojal.pages import accounts
from lojal.program.schemas import ProgramConfig
from tests.conftest import PEPPER

PASSWORD = "correct horse battery staple"
ROLE_EMAILS = {
    "owner": "owner@example.com",
    "marketer": "marketer@example.com",
    "store_staff": "till@example.com",
    "read_only": "auditor@example.com",
}


@dataclass
class Site:
    client: TestClient
    session: Session

    def form_token(self, path: str) -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        return csrf_of(page.text)

    def sign_in(self, role: str, password: str = PASSWORD) -> str:
        """Sign in as the user of ``role``; the page's CSRF token afterwards."""
        token = self.form_token("/staff/sign-in")
        answer = self.client.post(
            "/staff/sign-in",
            data={"email": ROLE_EMAILS[role], "password": password, "csrf": token},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        page = self.client.get("/staff/members")
        assert page.status_code == 200
        return csrf_of(page.text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with the smallest cost: the tests check how hashes are used, not their
    strength, and the default cost (64 MiB, 3 passes) makes each hash take ~0.1 s here."""
    hasher = PasswordHasher(time_cost=1, memory_cost=64)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    dummy = hasher.hash("not a password")
    monkeypatch.setattr(accounts, "_dummy", lambda: dummy)


@pytest.fixture
def site(
    database_url: str,
    session_factory: sessionmaker[Session],
    session: Session,
    clock: FixedClock,
    program: ProgramConfig,
) -> Iterator[Site]:
    settings = Settings(database_url=database_url, environment="test", api_key_pepper=PEPPER)
    app = create_app(settings, clock=clock)
    app.state.engine.dispose()
    app.state.session_factory = session_factory
    app.state.reader = None
    app.state.writer.factory = session_factory
    for role, email in ROLE_EMAILS.items():
        accounts.add_user(session, email=email, role=role, password=PASSWORD, now=clock.now())
    session.commit()
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield Site(client, session)
