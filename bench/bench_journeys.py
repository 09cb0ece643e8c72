"""The daily date triggers on a big club: the journeys' sweep (``lojal.journeys.tasks
.sweep_dates``: one ``INSERT … SELECT`` of runs and one of their jobs per journey) for the
birthday, membership anniversary and "we miss you" (90 days since the last purchase)
journeys, over ``--members`` members (default 1,000,000) with a birth date, an enrolment
date over ten years and one purchase each in the last year. Target: ≤ 30 s for all three.

    .venv/bin/python -m bench.bench_journeys [--members 1000000] [--database-url URL]

Members and purchases are written straight into the tables (the sweep reads nothing else);
a second sweep the same day (``force``) enters nobody and is timed too.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from lojal.activities.models import Purchase
from lojal.db.engine import make_engine
from lojal.db.migrate import upgrade
from lojal.db.session import make_session_factory, transaction
from lojal.journeys import service as journeys
from lojal.journeys.definition import JourneyDefinition
from lojal.journeys.models import JourneyRun
from lojal.journeys.tasks import sweep_dates
from lojal.members.models import Member
from lojal.program import service as program_service
from lojal.worker.models import Job

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 07:00 in Stockholm
CHUNK = 50_000
JOURNEYS = [
    {"code": "birthday", "trigger": {"kind": "birthday"}, "once_per_member": False},
    {"code": "anniversary", "trigger": {"kind": "anniversary"}, "once_per_member": False},
    {
        "code": "we-miss-you",
        "trigger": {"kind": "days_since_last_purchase", "days": 90},
        "once_per_member": False,
    },
]


def populate(session: Session, members: int, rnd: random.Random) -> None:
    start = NOW - timedelta(days=3650)
    for offset in range(0, members, CHUNK):
        rows = []
        for _ in range(min(CHUNK, members - offset)):
            enrolled = start + timedelta(seconds=rnd.randrange(3650 * 86400))
            rows.append(
                {
                    "status": "active",
                    "enrolment_channel": "store",
                    "enrolled_at": enrolled,
                    "birth_date": date(rnd.randint(1950, 2006), 1, 1)
                    + timedelta(days=rnd.randrange(365)),
                    "attributes": {},
                    "updated_at": enrolled,
                }
            )
        session.execute(insert(Member), rows)
    first = session.scalar(select(func.min(Member.id))) or 1
    for offset in range(0, members, CHUNK):
        rows = []
        for n in range(offset, min(offset + CHUNK, members)):
            at = NOW - timedelta(seconds=rnd.randrange(365 * 86400))
            rows.append(
                {
                    "order_id": f"o{n}",
                    "member_id": first + n,
                    "channel": "store",
                    "occurred_at": at,
                    "currency": "SEK",
                    "total_minor": 10_000,
                    "points": 0,
                    "order_points": 0,
                    "attributes": {},
                    "recorded_at": at,
                }
            )
        session.execute(insert(Purchase), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    rnd = random.Random(args.seed)
    started = time.perf_counter()
    with transaction(factory) as session:
        program_service.apply(
            session,
            config=program_service.validate(
                {"name": "Bench", "currency": "SEK", "timezone": "Europe/Stockholm", "rules": []}
            ),
            source=None,
            now=NOW,
        )
        populate(session, args.members, rnd)
        for item in JOURNEYS:
            definition = JourneyDefinition.model_validate(
                {
                    **item,
                    "name": item["code"],
                    "steps": [{"send": {"channel": "inbox", "template": "t"}}],
                    "templates": {"t": {"body": "Hej"}},
                }
            )
            journeys.add(session, definition=definition, now=NOW, enabled=True)
    print(f"{args.members} members and purchases written in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    done = sweep_dates(factory, now=NOW)
    took = time.perf_counter() - started
    for swept in done.done:
        print(f"  {swept.code}: {swept.entered} members entered")
    print(f"sweep: {done.journeys} journeys, {done.entered} runs in {took:.2f} s")
    started = time.perf_counter()
    again = sweep_dates(factory, now=NOW, force=True)
    print(f"again the same day: {again.entered} runs in {time.perf_counter() - started:.2f} s")
    with transaction(factory, read_only=True) as session:
        runs = session.scalar(select(func.count()).select_from(JourneyRun))
        jobs = session.scalar(select(func.count()).select_from(Job).where(Job.kind == "journey"))
    print(f"runs stored: {runs}, their jobs queued: {jobs}")
    engine.dispose()


if __name__ == "__main__":
    main()
