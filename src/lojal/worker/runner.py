"""The worker's loop: claim a batch, hand each kind's jobs to its handler, settle them.

One turn (``Worker.turn``):

1. the schedule's new slots are enqueued (``lojal.worker.schedule``);
2. a short transaction claims up to ``batch`` due jobs with a lease and commits;
3. each kind's ``IoHandler`` does its jobs outside any transaction;
4. one transaction runs the ``DbHandler`` jobs (a savepoint each, only while the claim is
   still ours), lets each ``IoHandler`` record its results, and settles every job: done, a
   retry at ``now + back-off`` (or the provider's ``Retry-After``), deferred, or dead after
   ``max_attempts`` tries with the reason.

A worker killed anywhere loses nothing: what it had claimed comes back when the lease runs out
(IO work is then done again — at least once; DB work had not committed — exactly once).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import Clock
from lojal.db.session import transaction
from lojal.worker import queue
from lojal.worker.kinds import DbHandler, Defer, Done, Fail, Handler, IoHandler, Outcome, Retry
from lojal.worker.queue import Claimed, Settled
from lojal.worker.schedule import Schedule

log = logging.getLogger("lojal.worker")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass
class Turn:
    claimed: int = 0
    done: int = 0
    retried: int = 0
    deferred: int = 0
    dead: int = 0
    lost: int = 0  # taken over by another worker after our lease ran out


class Worker:
    def __init__(
        self,
        factory: sessionmaker[Session],
        clock: Clock,
        handlers: Mapping[str, Handler],
        *,
        name: str | None = None,
        batch: int = 200,
        lease: timedelta = timedelta(seconds=60),
        schedule: Schedule | None = None,
    ) -> None:
        self.factory = factory
        self.clock = clock
        self.handlers = dict(handlers)
        self.name = name or worker_name()
        self.batch = batch
        self.lease = lease
        self.schedule = schedule
        self.stopping = threading.Event()

    # ------------------------------------------------------------------ one turn

    def turn(self) -> Turn:
        now = self.clock.now()
        if self.schedule is not None:
            slots = self.schedule.due(now)
            if slots:  # idempotent by key: another worker may have enqueued them already
                with transaction(self.factory) as session:
                    queue.enqueue_many(session, slots, now=now)
        with transaction(self.factory) as session:
            jobs = queue.claim(
                session, worker=self.name, now=now, limit=self.batch, lease=self.lease
            )
        turn = Turn(claimed=len(jobs))
        if not jobs:
            return turn
        by_kind: dict[str, list[Claimed]] = defaultdict(list)
        for job in jobs:
            by_kind[job.kind].append(job)
        results: dict[str, list[tuple[Claimed, Outcome]]] = {}
        db_jobs: list[tuple[DbHandler, Claimed]] = []
        for kind, group in by_kind.items():
            handler = self.handlers.get(kind)
            if handler is None:
                results[kind] = [(j, Fail(f"no handler for jobs of kind {kind!r}")) for j in group]
            elif isinstance(handler, IoHandler):
                results[kind] = self._handle(handler, group, now)
            elif isinstance(handler, DbHandler):
                db_jobs.extend((handler, j) for j in group)
        now = self.clock.now()
        with transaction(self.factory) as session:
            settled: list[Settled] = []
            for handler, job in db_jobs:
                outcome = self._run_db(session, handler, job, now)
                if outcome is not None:
                    settled.append(self._settle(job, outcome, now, turn))
                else:
                    turn.lost += 1
            for kind, pairs in results.items():
                handler = self.handlers.get(kind)
                if isinstance(handler, IoHandler):
                    handler.record(session, pairs, now)
                settled.extend(self._settle(job, outcome, now, turn) for job, outcome in pairs)
            held = queue.settle(session, settled, now=now)
        turn.lost += len(settled) - held
        return turn

    def _handle(
        self, handler: IoHandler, jobs: Sequence[Claimed], now: datetime
    ) -> list[tuple[Claimed, Outcome]]:
        try:
            outcomes = list(handler.handle(jobs, now))
        except Exception as exc:
            log.exception("jobs of kind %s failed", handler.kind)
            outcomes = [Retry(f"{type(exc).__name__}: {exc}")] * len(jobs)
        if len(outcomes) != len(jobs):
            outcomes = [Retry("the handler answered for a different number of jobs")] * len(jobs)
        return list(zip(jobs, outcomes, strict=True))

    def _run_db(
        self, session: Session, handler: DbHandler, job: Claimed, now: datetime
    ) -> Outcome | None:
        """A database job in its own savepoint, only while the claim is ours (None if not)."""
        if not queue.still_held(session, job):
            return None
        savepoint = session.begin_nested()
        try:
            outcome = handler.run(session, job, now)
        except Exception as exc:
            savepoint.rollback()
            return Retry(f"{type(exc).__name__}: {exc}")
        if isinstance(outcome, Done):
            savepoint.commit()
        else:
            savepoint.rollback()
        return outcome

    def _settle(self, job: Claimed, outcome: Outcome, now: datetime, turn: Turn) -> Settled:
        if isinstance(outcome, Done):
            turn.done += 1
            return Settled(job, "done", error=outcome.note)
        if isinstance(outcome, Defer):
            turn.deferred += 1
            return Settled(job, "queued", run_at=outcome.until, error=outcome.reason, refund=True)
        if isinstance(outcome, Fail):
            turn.dead += 1
            return Settled(job, "dead", error=outcome.reason)
        handler = self.handlers.get(job.kind)
        limit = job.max_attempts or (handler.max_attempts if handler else 1)
        if job.attempts >= limit:
            turn.dead += 1
            return Settled(
                job, "dead", error=f"gave up after {job.attempts} tries: {outcome.reason}"
            )
        wait = outcome.after
        if wait is None:
            wait = handler.backoff(job.attempts) if handler else timedelta(minutes=1)
        turn.retried += 1
        return Settled(job, "queued", run_at=now + wait, error=outcome.reason)

    # ------------------------------------------------------------------ the loop

    def run(
        self,
        *,
        idle: float = 0.5,
        until_idle: bool = False,
        max_seconds: float | None = None,
    ) -> Turn:
        """Turn until stopped (``stop()``, SIGTERM), or until no job is due (``until_idle``),
        or for ``max_seconds``; the totals."""
        total = Turn()
        started = time.monotonic()
        while not self.stopping.is_set():
            try:
                turn = self.turn()
            except Exception:
                log.exception("a turn of the worker failed; trying again")
                self.stopping.wait(idle)
                continue
            for name in ("claimed", "done", "retried", "deferred", "dead", "lost"):
                setattr(total, name, getattr(total, name) + getattr(turn, name))
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            if turn.claimed == 0:
                if until_idle:
                    break
                self.stopping.wait(idle)
        return total

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        for handler in self.handlers.values():
            if isinstance(handler, IoHandler):
                handler.close()
