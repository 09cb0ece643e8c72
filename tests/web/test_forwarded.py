"""``lojal serve`` believes X-Forwarded-For only from the proxies it is told to trust: a client on
the same host cannot name another address and slip past the limits kept per address."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lojal.commands import proxies
from lojal.config import DEV_API_KEY_PEPPER, Settings
from lojal.staff import service as staff
from tests.conftest import apply_program
from tests.web.test_serve import free_port, wait_until_up


def _status(port: int, forwarded: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/program",
        headers={"Authorization": "Bearer wrong-key", "X-Forwarded-For": forwarded},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _statuses(url: str, key: str, trusted: str | None) -> list[int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOJAL_")}
    env["LOJAL_RATE_LIMIT_PER_ADDRESS"] = "3"
    if trusted is not None:
        env["LOJAL_TRUSTED_PROXIES"] = trusted
    port = free_port()
    argv = [sys.executable, "-m", "lojal", "serve", "--database-url", url, "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [*argv, "--no-access-log"], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        try:
            wait_until_up(server, port, key)
            return [_status(port, f"203.0.113.{n}") for n in range(1, 6)]
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)


def test_forwarded_addresses_count_only_from_a_trusted_proxy(fresh_engine: Engine) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    now = datetime.now(UTC)
    with Session(fresh_engine) as session:
        apply_program(session, now)
        _, key = staff.create_key(
            session, name="test", kind="admin", pepper=DEV_API_KEY_PEPPER, now=now
        )
        session.commit()
    # nobody trusted (the default): five "addresses" are one client, limited after three
    assert _statuses(url, key, None) == [401, 401, 401, 429, 429]
    # behind a trusted proxy on 127.0.0.1 each forwarded address has its own quota
    assert _statuses(url, key, "127.0.0.1") == [401] * 5


def test_uvicorn_is_told_whom_to_believe() -> None:
    assert proxies(Settings()) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    assert proxies(Settings(trusted_proxies="10.0.0.0/8, 127.0.0.1")) == {
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.0/8, 127.0.0.1",
    }
