"""The worker killed with SIGKILL at random points mid-batch and started again: every due
message reaches the receiver at least once, and an idempotent receiver (by ``webhook-id``)
processes each exactly once; every job ends done."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from lojal.db.session import make_session_factory, transaction
from lojal.webhooks import events, service
from lojal.webhooks.schemas import EndpointCreate
from lojal.worker.models import Job
from tests.webhooks.receiver import receiving

MESSAGES = 300
KILLS = 3
OPTIONS = ("--lease", "2", "--batch", "25", "--idle", "0.05", "--no-schedule")


def _worker(url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "lojal", "worker", "run", "--database-url", url, *OPTIONS],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LOJAL_ENVIRONMENT": "test"},
    )


def test_killed_workers_lose_nothing(fresh_engine: Engine) -> None:
    rng = random.Random(12)
    url = fresh_engine.url.render_as_string(hide_password=False)
    factory = make_session_factory(fresh_engine)
    now = datetime.now(UTC)
    with receiving() as receiver:
        receiver.delay = 0.004
        with transaction(factory) as session:
            service.create(session, data=EndpointCreate(url=receiver.url), now=now)
            events.publish(
                session, [("event.recorded", f"e:{n}", {"n": n}) for n in range(MESSAGES)], now
            )

        def undone() -> int:
            with transaction(factory) as session:
                return int(
                    session.scalar(select(func.count()).select_from(Job).where(Job.state != "done"))
                    or 0
                )

        deadline = time.monotonic() + 50
        for _ in range(KILLS):
            worker = _worker(url)
            time.sleep(rng.uniform(0.6, 1.5))  # the interpreter starts, then a batch is in hand
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        worker = _worker(url)
        try:
            while undone() and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(10)
        assert undone() == 0
        ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(set(ids)) == MESSAGES  # each processed once by the idempotent receiver
    assert len(ids) >= MESSAGES  # delivered at least once (kills mid-batch send again)
