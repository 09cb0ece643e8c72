"""The club's periodic work, run by ``lojal worker``.

Each entry runs once per slot of its interval (slots are counted from the Unix epoch in UTC),
whatever the number of workers: when a worker sees a new slot it enqueues a ``schedule`` job
keyed ``schedule:<name>:<slot start>``, and the key lets only the first one in. The job then
goes the way of every job (lease, retries, dead letter), and a slot missed while no worker ran
is simply the next one (the club's steps catch up by themselves: they work on what is due).

``DEFAULT`` is the list: the scheduled steps of ``lojal.jobs`` (points activation and expiry,
referrals, paid memberships, tier reviews, coupon reservations, idempotency records), the
daily refit of the insight figures (``insight_refit``), the daily store of the closed months'
IFRS 15 figures (``ledger_months``), the worker's own housekeeping, and
the journeys' date triggers (``journeys.tasks.sweep_dates``: each journey once per local
day of the club), and the fraud sweep (``fraud.tasks.sweep``: referral rings and clusters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from lojal.db.session import transaction
from lojal.fraud import tasks as fraud
from lojal.insight import tasks as insight
from lojal.jobs.service import run_due
from lojal.journeys.tasks import sweep_dates
from lojal.ledger import tasks as ledger_months
from lojal.program import service as program
from lojal.worker import queue
from lojal.worker.kinds import Context, Done, IoHandler, Outcome, Retry
from lojal.worker.queue import Claimed

KIND = "schedule"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    name: str
    every: timedelta
    run: Callable[[Context, datetime], str | None]

    def slot(self, now: datetime) -> datetime:
        """The start of the slot ``now`` is in."""
        n = (now - EPOCH) // self.every
        return EPOCH + n * self.every


def club_jobs(ctx: Context, now: datetime) -> str:
    summary = run_due(ctx.factory, clock=ctx.clock, ttl_hours=ctx.settings.idempotency_ttl_hours)
    return ", ".join(f"{label}: {n}" for label, n in summary.lines() if n)


def purge_jobs(ctx: Context, now: datetime) -> str:
    total = 0
    while True:
        with transaction(ctx.factory) as session:
            n = queue.purge_done(session, older_than=now - timedelta(days=7))
        total += n
        if n == 0:
            return f"{total} finished jobs forgotten"


def refit_insight(ctx: Context, now: datetime) -> str:
    """Queue the day's refit of the stored insight figures (``insight_refit``): once a day,
    shortly after midnight UTC, when the club's yesterday is over."""
    with transaction(ctx.factory) as session:
        job = insight.enqueue(session, now=now, key=insight.scheduled_key(now.date()))
    return "refit queued" if job is not None else "refit already queued"


def store_ledger_months(ctx: Context, now: datetime) -> str:
    """Queue the day's store of the closed months' IFRS 15 figures (``ledger_months``): a
    month closes at the club's midnight, and the dashboard reads it live until this runs."""
    with transaction(ctx.factory) as session:
        job = ledger_months.enqueue(session, now=now, key=ledger_months.scheduled_key(now.date()))
    return "ledger months queued" if job is not None else "ledger months already queued"


def journey_dates(ctx: Context, now: datetime) -> str:
    done = sweep_dates(ctx.factory, now=now)
    return f"{done.journeys} journeys swept, {done.entered} members entered"


def fraud_sweep(ctx: Context, now: datetime) -> str:
    """The fraud alerts' patterns across members (``lojal.fraud.tasks``)."""
    with transaction(ctx.factory) as session:
        found = fraud.sweep(session, fraud=program.current(session).fraud, now=now)
    return f"{found} fraud patterns seen"


DEFAULT: tuple[Entry, ...] = (
    Entry("club-jobs", timedelta(minutes=5), club_jobs),
    # each journey is swept once per local day; a slot only finds the ones not swept yet
    Entry("journey-dates", timedelta(minutes=15), journey_dates),
    Entry("purge-jobs", timedelta(hours=6), purge_jobs),
    Entry("insight-refit", timedelta(days=1), refit_insight),
    Entry("ledger-months", timedelta(days=1), store_ledger_months),
    Entry("fraud-sweep", timedelta(minutes=15), fraud_sweep),
)


class Schedule:
    """Enqueues each entry's slot once (per worker it only tries when a new slot begins)."""

    def __init__(self, entries: Sequence[Entry] = DEFAULT) -> None:
        self.entries = {e.name: e for e in entries}
        self.seen: dict[str, datetime] = {}

    def add(self, entry: Entry) -> None:
        self.entries[entry.name] = entry

    def due(self, now: datetime) -> list[queue.NewJob]:
        jobs = []
        for entry in self.entries.values():
            slot = entry.slot(now)
            if self.seen.get(entry.name) == slot:
                continue
            self.seen[entry.name] = slot
            jobs.append(
                queue.NewJob(
                    KIND,
                    {"name": entry.name, "slot": slot.isoformat()},
                    key=f"schedule:{entry.name}:{slot.isoformat()}",
                    run_at=slot,
                    max_attempts=3,
                )
            )
        return jobs

    def enqueue_due(self, session: Session, now: datetime) -> int:
        jobs = self.due(now)
        queue.enqueue_many(session, jobs, now=now)
        return len(jobs)


class ScheduleHandler(IoHandler):
    """Runs a slot's entry; its steps open their own transactions, batch by batch."""

    kind = KIND
    max_attempts = 3

    def __init__(self, ctx: Context, schedule: Schedule) -> None:
        self.ctx = ctx
        self.schedule = schedule

    def handle(self, jobs: Sequence[Claimed], now: datetime) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for job in jobs:
            entry = self.schedule.entries.get(job.payload["name"])
            if entry is None:
                outcomes.append(Done(f"no entry {job.payload['name']!r} any more"))
                continue
            try:
                outcomes.append(Done(entry.run(self.ctx, self.ctx.clock.now())))
            except Exception as exc:
                outcomes.append(Retry(f"{type(exc).__name__}: {exc}"))
        return outcomes
