"""Journey sends survive a worker killed with SIGKILL at random points mid-batch and started
again: every due email reaches a real SMTP server (aiosmtpd) at least once, and a receiver
that is idempotent by Message-ID counts each once; every run ends done; nobody outside the
audience, nor anyone without email consent, is sent anything."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select

from lojal.db.session import make_session_factory, transaction
from lojal.demo.generator import CLUB_FILE
from lojal.enrolment import enrol
from lojal.journeys import service as journeys
from lojal.journeys.definition import JourneyDefinition
from lojal.journeys.models import Journey, JourneyRun
from lojal.members.schemas import ConsentGrant, MemberCreate
from lojal.messaging.models import Message
from lojal.program import service as program_service
from lojal.worker.models import Job
from tests.smtp import Sink, free_port

WANTED = 150  # in the audience, with email consent: one email each
UNCONSENTED = 25  # in the audience, no email consent: a run, a suppressed message, no email
OUTSIDE = 25  # outside the audience (with consent): nothing
KILLS = 3
OPTIONS = ("--lease", "2", "--batch", "20", "--idle", "0.05", "--no-schedule")

JOURNEY = JourneyDefinition.model_validate(
    {
        "code": "krasch",
        "name": "Välkommen (krasch)",
        "trigger": {"kind": "enrolled"},
        "audience": {"field": "member.first_name", "op": "eq", "value": "Inne"},
        "steps": [{"send": {"channel": "email", "template": "hej"}}],
        "templates": {"hej": {"subject": "Hej {{ member.first_name }}", "body": "Välkommen!"}},
    }
)


class SlowSink(Sink):
    """A few milliseconds per email, so that kills fall while a batch is being sent."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


def _worker(url: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "lojal", "worker", "run", "--database-url", url, *OPTIONS],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={
            **os.environ,
            "LOJAL_ENVIRONMENT": "test",
            "LOJAL_MESSAGING__SMTP_PORT": str(port),
            "LOJAL_MESSAGING__EMAIL_FROM": "Klubben <klubb@club.example>",
            "LOJAL_MESSAGING__CONCURRENCY": "4",
        },
    )


def test_killed_workers_send_every_journey_email_once_to_an_idempotent_receiver(
    fresh_engine: Engine,
) -> None:
    rng = random.Random(7)
    url = fresh_engine.url.render_as_string(hide_password=False)
    factory = make_session_factory(fresh_engine)
    now = datetime.now(UTC)
    people = (
        [(f"in{n}@example.se", "Inne", True) for n in range(WANTED)]
        + [(f"quiet{n}@example.se", "Inne", False) for n in range(UNCONSENTED)]
        + [(f"out{n}@example.se", "Ute", True) for n in range(OUTSIDE)]
    )
    rng.shuffle(people)
    with transaction(factory) as session:
        text = CLUB_FILE.read_text(encoding="utf-8")
        program_service.apply(session, config=program_service.parse(text), source=text, now=now)
        journeys.add(session, definition=JOURNEY, now=now, enabled=True)
    ids: dict[str, int] = {}
    with transaction(factory) as session:  # the enrolments start the runs (as jobs)
        for address, first_name, consent in people:
            ids[address] = enrol(
                session,
                data=MemberCreate(
                    email=address,
                    first_name=first_name,
                    channel="web",
                    consents=[ConsentGrant(channel="email", granted=True)] if consent else [],
                ),
                now=now,
            ).id

    def undone() -> int:
        with transaction(factory) as session:
            return int(
                session.scalar(select(func.count()).select_from(Job).where(Job.state != "done"))
                or 0
            )

    sink = SlowSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        deadline = time.monotonic() + 50
        for _ in range(KILLS):
            before = len(sink.messages)
            worker = _worker(url, port)
            # killed while it sends: once its first email of this life is in, at a random
            # point of the batch
            while len(sink.messages) == before and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.15))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        worker = _worker(url, port)
        try:
            while undone() and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(10)
    finally:
        controller.stop()
    assert undone() == 0

    # the idempotent receiver: one email per Message-ID
    by_id: dict[str, set[str]] = defaultdict(set)
    for _, rcpt, data in sink.messages:
        by_id[str(message_from_bytes(data)["Message-ID"])].update(rcpt)
    wanted = {a for a, name, consent in people if name == "Inne" and consent}
    assert len(sink.messages) >= WANTED  # at least once (a kill mid-batch sends again)
    assert len(by_id) == WANTED  # counted once each
    assert all(len(to) == 1 for to in by_id.values())
    assert set().union(*by_id.values()) == wanted  # nobody outside, nobody without consent

    with transaction(factory) as session:
        journey_id = session.scalar(select(Journey.id).where(Journey.code == "krasch"))
        runs = dict(
            session.execute(
                select(JourneyRun.member_id, JourneyRun.state).where(
                    JourneyRun.journey_id == journey_id
                )
            ).all()
        )
        statuses = dict(session.execute(select(Message.member_id, Message.status)).all())
    audience = {ids[a] for a, name, _ in people if name == "Inne"}
    assert set(runs) == audience
    assert set(runs.values()) == {"done"}
    assert statuses == {
        ids[a]: ("sent" if consent else "suppressed")
        for a, name, consent in people
        if name == "Inne"
    }
