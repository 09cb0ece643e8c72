"""``lojal serve --workers N``: N processes, each with its own app, on the database given."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lojal.config import DEV_API_KEY_PEPPER
from lojal.members.models import MemberIdentity
from lojal.staff import service as staff
from tests.conftest import apply_program


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(port: int, path: str, key: str, body: dict[str, object] | None = None) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_serve_with_two_workers_answers_from_the_given_database(fresh_engine: Engine) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    now = datetime.now(UTC)
    with Session(fresh_engine) as session:
        apply_program(session, now)
        _, key = staff.create_key(
            session, name="test", kind="admin", pepper=DEV_API_KEY_PEPPER, now=now
        )
        session.commit()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOJAL_")}
    argv = [sys.executable, "-m", "lojal", "serve", "--database-url", url, "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [*argv, "--workers", "2", "--no-access-log"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            wait_until_up(server, port, key)
            statuses = [
                call(port, "/api/v1/members", key, {"email": f"w{i}@example.com"}) for i in range(6)
            ]
            assert statuses == [201] * 6
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
            log.seek(0)
            output = log.read().decode("utf-8", "replace")
    workers = set(re.findall(r"Started server process \[(\d+)\]", output))
    assert len(workers) == 2, output
    with Session(fresh_engine) as session:
        emails = session.scalars(
            select(MemberIdentity.value).where(MemberIdentity.kind == "email")
        ).all()
    assert sorted(emails) == [f"w{i}@example.com" for i in range(6)]


def wait_until_up(server: subprocess.Popen[bytes], port: int, key: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, "the server stopped"
        assert time.monotonic() < deadline, "the server did not answer within 60 s"
        try:
            if call(port, "/healthz", key) == 200:
                return
        except OSError:  # not listening yet
            pass
        time.sleep(0.2)
