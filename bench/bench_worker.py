"""Worker throughput: messages per second from the job table to a local webhook receiver and
to a local SMTP sink, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.bench_worker [--webhooks 10000] [--emails 3000] [--pg] [--no-dkim]

The receiver (a raw asyncio HTTP server answering 200) and the SMTP sink (aiosmtpd) run in a
child process each, on 127.0.0.1. Jobs are enqueued first (one transaction), then one worker
(batches of 500, 16 senders side by side) runs until none is due; the figure is messages
delivered and settled per second of that run. Emails are DKIM-signed (RSA 2048) marketing
mails with their unsubscribe headers, to members with consent (``--no-dkim``: unsigned, to
see the worker and SMTP apart from the signing, which dkimpy does in pure Python).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bench.common import free_port, machine
from lojal.clock import SystemClock
from lojal.config import Settings
from lojal.db.engine import make_engine
from lojal.db.migrate import upgrade
from lojal.db.session import make_session_factory, transaction
from lojal.members.models import Consent, Member, MemberIdentity
from lojal.messaging import service as messaging
from lojal.messaging.delivery import MessageHandler
from lojal.messaging.settings import MessagingSettings
from lojal.webhooks import events, service
from lojal.webhooks.delivery import WebhookHandler
from lojal.webhooks.schemas import EndpointCreate
from lojal.worker.kinds import Context, Handler
from lojal.worker.runner import Worker

KEY = Path(__file__).parent.parent / "tests" / "messaging" / "dkim_test_key.pem"


def _receiver(port: int) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(main())


def _smtp_sink(port: int) -> None:
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            return "250 OK"

    Controller(Sink(), hostname="127.0.0.1", port=port).start()
    while True:
        time.sleep(3600)


def _run(factory: sessionmaker[Session], handler: Handler) -> float:
    worker = Worker(factory, SystemClock(), {handler.kind: handler}, batch=500)
    started = time.perf_counter()
    total = worker.run(until_idle=True)
    elapsed = time.perf_counter() - started
    worker.close()
    return total.done / elapsed


def bench_webhooks(factory: sessionmaker[Session], port: int, count: int) -> float:
    now = datetime.now(UTC)
    with transaction(factory) as session:
        service.create(session, data=EndpointCreate(url=f"http://127.0.0.1:{port}/hook"), now=now)
        for start in range(0, count, 5000):
            events.publish(
                session,
                [
                    ("event.recorded", f"bench:{n}", {"member_id": n, "points": 10})
                    for n in range(start, min(count, start + 5000))
                ],
                now,
            )
    return _run(factory, WebhookHandler(Context(factory, SystemClock()), concurrency=16))


def bench_emails(factory: sessionmaker[Session], settings: Settings, count: int) -> float:
    now = datetime.now(UTC)
    with transaction(factory) as session:
        members = [
            Member(
                status="active",
                enrolment_channel="api",
                enrolled_at=now,
                attributes={},
                updated_at=now,
            )
            for _ in range(count)
        ]
        session.add_all(members)
        session.flush()
        for i, m in enumerate(members):
            session.add(
                MemberIdentity(
                    member_id=m.id, kind="email", value=f"m{i}@example.com", created_at=now
                )
            )
            session.add(
                Consent(
                    member_id=m.id, channel="email", granted=True, source="bench", recorded_at=now
                )
            )
        messaging.send(
            session,
            [
                messaging.Draft(
                    m.id,
                    "email",
                    "Hej! Veckans erbjudanden ...",
                    f"bench:{m.id}",
                    subject="Nyheter",
                )
                for m in members
            ],
            now=now,
        )
    return _run(factory, MessageHandler(Context(factory, SystemClock(), settings)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--webhooks", type=int, default=10_000)
    parser.add_argument("--emails", type=int, default=3_000)
    parser.add_argument("--pg", action="store_true", help="also on a throwaway PostgreSQL")
    parser.add_argument("--no-dkim", action="store_true", help="emails unsigned")
    args = parser.parse_args()
    http_port, smtp_port = free_port(), free_port()
    children = [
        multiprocessing.Process(target=_receiver, args=(http_port,), daemon=True),
        multiprocessing.Process(target=_smtp_sink, args=(smtp_port,), daemon=True),
    ]
    for child in children:
        child.start()
    time.sleep(1.0)
    settings = Settings(
        messaging=MessagingSettings(
            smtp_port=smtp_port,
            email_from="Klubben <club@club.example>",
            dkim_domain=None if args.no_dkim else "club.example",
            dkim_selector=None if args.no_dkim else "s1",
            dkim_private_key=None if args.no_dkim else KEY.read_text(),
            concurrency=16,
        )
    )
    urls = {"sqlite": f"sqlite:///{tempfile.mkdtemp(prefix='lojal-bench-')}/bench.db"}
    server = None
    if args.pg:
        from tests import pgserver

        server = pgserver.start()
        urls["postgresql"] = server.create_database("bench_worker")
    results: dict[str, Any] = {"machine": machine()}
    try:
        for backend, url in urls.items():
            engine = make_engine(url)
            upgrade(engine)
            factory = make_session_factory(engine)
            hooks = bench_webhooks(factory, http_port, args.webhooks)
            mails = bench_emails(factory, settings, args.emails)
            results[backend] = {"webhooks_per_s": round(hooks), "emails_per_s": round(mails)}
            print(backend, results[backend], flush=True)
            engine.dispose()
    finally:
        if server is not None:
            server.stop()
        for child in children:
            child.terminate()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
