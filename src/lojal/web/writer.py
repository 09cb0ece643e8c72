"""The write path of the HTTP API: every write request's unit of work runs in the writer.

A write endpoint parses and authorises the request on the event loop, then hands the writer a
*job*: a function of a session and the time that returns the answer. The writer runs the jobs
that are waiting — up to ``GROUP`` at once — in one transaction, each in its own savepoint, so
that an error rolls back only its own job; jobs of a *batch* kind (purchases) that wait
together are done in one call (``lojal.activities.bulk``). Then the transaction commits, and
only then does every request get its answer: nothing is announced that did not commit, and one
commit serves the whole group. An ``Idempotency-Key`` record is written in its job's savepoint,
with the work it guards (``lojal.web.idempotency``).

Where the writer runs depends on the database:

* **SQLite** allows one writer at a time. The writer runs on the event loop itself, one group
  after another: no thread hops, no connections queuing for the write lock, no busy-waiting.
  (Measured on the reference machine: a thread-pool endpoint doing the same SQLite work peaks
  at about 1,100 requests/s, on the loop at about 2,400.) A write lock held by another process
  (an import, the jobs) makes the writer back off without blocking the loop.
* **PostgreSQL** takes concurrent writers: groups run on ``threads`` worker threads, each with
  its own transaction; a deadlock or a unique-key race between groups makes their jobs run
  again one by one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import Clock
from lojal.db.failures import describe, log_failure
from lojal.db.session import transaction
from lojal.errors import LojalError, TooManyRequests
from lojal.web import idempotency
from lojal.web.errors import error_payload
from lojal.web.idempotency import Claim

log = logging.getLogger("lojal.web.writer")

GROUP = 64
MAX_DEFERRALS = 8
BUSY_GIVE_UP_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer ready to send: status, JSON body, and whether it is a replay."""

    status: int
    body: bytes
    replayed: bool = False
    # seconds, for a 429's Retry-After (a domain TooManyRequests: a velocity limit)
    retry_after: int | None = None

    @classmethod
    def of(cls, model: BaseModel, status: int) -> Reply:
        return cls(status, model.model_dump_json().encode())

    @classmethod
    def error(cls, exc: LojalError) -> Reply:
        status, payload = error_payload(exc)
        wait = exc.context.get("retry_after") if isinstance(exc, TooManyRequests) else None
        return cls(status, orjson.dumps(payload), retry_after=None if wait is None else int(wait))


INTERNAL_ERROR = Reply(500, b'{"error":"InternalError","detail":"an unexpected error occurred"}')
UNAVAILABLE = Reply(503, b'{"error":"Unavailable","detail":"the database is busy; retry shortly"}')

Work = Callable[[Session, datetime], Reply]


@dataclass(frozen=True, slots=True)
class Batch:
    """A kind of job that is done for many requests in one call: ``run(session, now,
    payloads)`` answers each payload with a Reply (or raises, and the jobs run one by one)."""

    name: str
    run: Callable[[Session, datetime, Sequence[Any]], list[Reply]]


@dataclass(slots=True)
class Job:
    work: Work | None = None
    batch: Batch | None = None
    payload: Any = None
    claim: Claim | None = None
    # who asked (the audit trail's actor): "key:<id> <name>"
    actor: str | None = None
    future: asyncio.Future[Reply] | None = field(default=None, repr=False)

    def run_alone(self, session: Session, now: datetime) -> Reply:
        session.info["actor"] = self.actor
        session.info["now"] = now
        if self.work is not None:
            return self.work(session, now)
        assert self.batch is not None
        return self.batch.run(session, now, [self.payload])[0]


class Busy(Exception):
    """SQLite's write lock is held by another connection."""


class Writer:
    def __init__(
        self, factory: sessionmaker[Session], clock: Clock, *, inline: bool, threads: int = 4
    ) -> None:
        self.factory = factory
        self.clock = clock
        self.inline = inline
        self.waiting: list[Job] = []
        self.scheduled = False
        self.running = 0
        self.limit = 1 if inline else threads
        self.pool = None if inline else ThreadPoolExecutor(threads, "lojal-writer")
        self.busy_since: float | None = None
        self.seen = -1
        self.deferred = 0

    async def submit(self, job: Job) -> Reply:
        loop = asyncio.get_running_loop()
        job.future = loop.create_future()
        self.waiting.append(job)
        self._schedule(loop)
        return await job.future

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    # ------------------------------------------------------------------ dispatching

    def _schedule(self, loop: asyncio.AbstractEventLoop, delay: float = 0.0) -> None:
        if self.scheduled or not self.waiting or self.running >= self.limit:
            return
        self.scheduled = True
        if delay:
            loop.call_later(delay, self._dispatch, loop)
        else:
            loop.call_soon(self._dispatch, loop)

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        self.scheduled = False
        # Let requests that are being read reach the writer first (bigger groups, fewer
        # commits): run when a pass of the loop brought no new job, or the group is full.
        waiting = len(self.waiting)
        if waiting < GROUP and waiting != self.seen and self.deferred < MAX_DEFERRALS:
            self.seen = waiting
            self.deferred += 1
            self._schedule(loop)
            return
        self.seen = -1
        self.deferred = 0
        while self.waiting and self.running < self.limit:
            group, self.waiting = self.waiting[:GROUP], self.waiting[GROUP:]
            if self.inline:
                try:
                    replies = self.execute(group, busy_is_error=False)
                except Busy:
                    self._back_off(loop, group)
                    return
                except BaseException as exc:  # never leave a request waiting
                    log_failure(log, "the writer failed", exc)
                    replies = [INTERNAL_ERROR] * len(group)
                self.busy_since = None
                _resolve(group, replies)
            else:
                assert self.pool is not None
                self.running += 1
                self.pool.submit(self._in_thread, loop, group)
        if self.waiting and self.inline:
            self._schedule(loop)

    def _back_off(self, loop: asyncio.AbstractEventLoop, group: list[Job]) -> None:
        now = time.monotonic()
        self.busy_since = self.busy_since or now
        if now - self.busy_since > BUSY_GIVE_UP_SECONDS:
            log.warning("the database stayed locked by another process; answering 503")
            _resolve(group, [UNAVAILABLE] * len(group))
            self.busy_since = None
        else:
            self.waiting = group + self.waiting
        self._schedule(loop, delay=0.005)

    def _in_thread(self, loop: asyncio.AbstractEventLoop, group: list[Job]) -> None:
        try:
            replies = self.execute(group, busy_is_error=True)
        except BaseException as exc:  # never leave a request waiting
            log_failure(log, "the writer failed", exc)
            replies = [INTERNAL_ERROR] * len(group)

        def done() -> None:
            self.running -= 1
            _resolve(group, replies)
            self._schedule(loop)

        loop.call_soon_threadsafe(done)

    # ------------------------------------------------------------------ executing

    def execute(self, group: Sequence[Job], *, busy_is_error: bool = True) -> list[Reply]:
        """Run a group of jobs in one transaction and answer each of them."""
        now = self.clock.now()
        try:
            with transaction(self.factory) as session:
                return self._jobs(session, group, now)
        except OperationalError as exc:
            if _locked(exc) and not busy_is_error:
                raise Busy from exc
            if len(group) > 1:
                return [reply for job in group for reply in self.execute([job])]
            log.warning("database error: %s", describe(exc))
            return [UNAVAILABLE]
        except DBAPIError as exc:
            # A race with another transaction (PostgreSQL), found at commit: again, alone.
            if len(group) > 1:
                return [reply for job in group for reply in self.execute([job])]
            log.warning("conflict at commit: %s", describe(exc))
            return [
                Reply(
                    409,
                    b'{"error":"Conflict","detail":"the request conflicts with data written '
                    b'at the same time; retry it"}',
                )
            ]

    def _jobs(self, session: Session, group: Sequence[Job], now: datetime) -> list[Reply]:
        replies: list[Reply | None] = [None] * len(group)
        todo: list[int] = []
        for i, job in enumerate(group):
            if job.claim is not None:
                try:
                    found = idempotency.lookup(session, job.claim)
                except LojalError as exc:
                    replies[i] = Reply.error(exc)
                    continue
                if found is not None:
                    replies[i] = Reply(found[0], found[1], replayed=True)
                    continue
            todo.append(i)
        batches: dict[str, list[int]] = {}
        for i in todo:
            batch = group[i].batch
            if batch is not None:
                batches.setdefault(batch.name, []).append(i)
        alone = [i for i in todo if group[i].batch is None]
        for members in batches.values():
            keys = [(c.caller, c.key) for i in members if (c := group[i].claim) is not None]
            if len(members) > 1 and len(set(keys)) == len(keys):
                done = self._batch(session, [group[i] for i in members], now)
                if done is not None:
                    for i, reply in zip(members, done, strict=True):
                        replies[i] = reply
                    continue
            alone += members
        for i in sorted(alone):
            replies[i] = self._alone(session, group[i], now)
        return [reply if reply is not None else INTERNAL_ERROR for reply in replies]

    def _batch(self, session: Session, jobs: Sequence[Job], now: datetime) -> list[Reply] | None:
        batch = jobs[0].batch
        assert batch is not None
        try:
            with session.begin_nested():
                for job in jobs:
                    if job.claim is not None:
                        idempotency.claim(session, job.claim, now)
                actors = {job.actor for job in jobs}
                session.info["actor"] = actors.pop() if len(actors) == 1 else "api (several keys)"
                session.info["now"] = now
                replies = batch.run(session, now, [job.payload for job in jobs])
                for job, reply in zip(jobs, replies, strict=True):
                    if job.claim is not None:
                        idempotency.finish(session, job.claim, reply.status, reply.body)
            return replies
        except OperationalError:
            raise
        except (LojalError, DBAPIError):
            return None  # one by one, each in its own savepoint
        except Exception as exc:
            log_failure(log, f"a batch of {batch.name} failed; running its jobs one by one", exc)
            return None

    def _alone(self, session: Session, job: Job, now: datetime, *, again: bool = True) -> Reply:
        try:
            with session.begin_nested():
                if job.claim is not None:
                    idempotency.claim(session, job.claim, now)
                reply = job.run_alone(session, now)
                if job.claim is not None:
                    idempotency.finish(session, job.claim, reply.status, reply.body)
            return reply
        except LojalError as exc:
            reply = Reply.error(exc)
            if job.claim is not None:
                # The refusal is the answer to this key too (unless the key was taken
                # meanwhile, by an earlier job of this group or another transaction).
                try:
                    with session.begin_nested():
                        idempotency.claim(session, job.claim, now)
                        idempotency.finish(session, job.claim, reply.status, reply.body)
                except IntegrityError:
                    return self._replay(session, job.claim) or reply
            return reply
        except IntegrityError:
            # Another transaction committed the same natural id or key meanwhile (PostgreSQL):
            # now that it is visible, the job answers as a replay.
            if again:
                if job.claim is not None:
                    replay = self._replay(session, job.claim)
                    if replay is not None:
                        return replay
                return self._alone(session, job, now, again=False)
            raise
        except OperationalError:
            raise
        except Exception as exc:
            log_failure(log, "a write failed", exc)
            return INTERNAL_ERROR

    def _replay(self, session: Session, claim: Claim) -> Reply | None:
        try:
            found = idempotency.lookup(session, claim)
        except LojalError as exc:
            return Reply.error(exc)
        return None if found is None else Reply(found[0], found[1], replayed=True)


def _resolve(group: Sequence[Job], replies: Sequence[Reply]) -> None:
    for job, reply in zip(group, replies, strict=True):
        if job.future is not None and not job.future.done():
            job.future.set_result(reply)


def _locked(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text
