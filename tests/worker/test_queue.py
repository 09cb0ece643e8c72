"""The job table on SQLite and PostgreSQL: the outbox rule, keys, claims and leases, retries,
dead letters, the schedule."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.db.session import make_session_factory, transaction
from lojal.worker import queue
from lojal.worker.kinds import DbHandler, Defer, Done, Fail, IoHandler, Outcome, Retry
from lojal.worker.models import Job
from lojal.worker.queue import Claimed
from lojal.worker.runner import Worker
from lojal.worker.schedule import Entry, Schedule, ScheduleHandler
from tests.conftest import START

LEASE = timedelta(seconds=30)


@pytest.fixture
def factory(fresh_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(fresh_engine)


def _jobs(factory: sessionmaker[Session]) -> list[Job]:
    with transaction(factory) as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def test_a_job_commits_with_its_cause_and_a_key_enqueues_once(
    factory: sessionmaker[Session],
) -> None:
    def failing_change() -> None:
        with transaction(factory) as session:
            queue.enqueue(session, "x", {"n": 1}, now=START, key="fact:1")
            raise RuntimeError("the change that caused it failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert _jobs(factory) == []
    with transaction(factory) as session:
        first = queue.enqueue(session, "x", {"n": 1}, now=START, key="fact:1")
        again = queue.enqueue(session, "x", {"n": 2}, now=START, key="fact:1")
        queue.enqueue_many(
            session,
            [queue.NewJob("x", {"n": 3}, key="fact:1"), queue.NewJob("x", {"n": 4})],
            now=START,
        )
    assert first is not None
    assert again is None
    assert [(j.key, j.payload) for j in _jobs(factory)] == [("fact:1", {"n": 1}), (None, {"n": 4})]


def test_claim_takes_due_jobs_with_a_lease_that_runs_out(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        queue.enqueue(session, "x", {}, now=START, key="now")
        queue.enqueue(session, "x", {}, now=START, run_at=START + timedelta(hours=1), key="later")
    with transaction(factory) as session:
        claimed = queue.claim(session, worker="a", now=START, limit=10, lease=LEASE)
    assert [(c.key, c.attempts) for c in claimed] == [("now", 1)]
    with transaction(factory) as session:  # held: nobody else gets it
        assert queue.claim(session, worker="b", now=START, limit=10, lease=LEASE) == []
    later = START + LEASE + timedelta(seconds=1)
    with transaction(factory) as session:  # worker a died: its lease ran out
        taken = queue.claim(session, worker="b", now=later, limit=10, lease=LEASE)
    assert [(c.key, c.attempts) for c in taken] == [("now", 2)]
    with transaction(factory) as session:  # a's late answer changes nothing
        held = queue.settle(session, [queue.Settled(claimed[0], "done")], now=later)
    assert held == 0
    with transaction(factory) as session:
        held = queue.settle(session, [queue.Settled(taken[0], "done")], now=later)
    assert held == 1
    assert [(j.key, j.state, j.locked_by) for j in _jobs(factory)] == [
        ("now", "done", None),
        ("later", "queued", None),
    ]


def test_concurrent_claims_never_share_a_job(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        queue.enqueue_many(session, [queue.NewJob("x", {"n": n}) for n in range(400)], now=START)
    got: list[list[int]] = [[] for _ in range(4)]

    def claim_all(i: int) -> None:
        while True:
            with transaction(factory) as session:
                jobs = queue.claim(session, worker=f"w{i}", now=START, limit=7, lease=LEASE)
            if not jobs:
                return
            got[i].extend(j.id for j in jobs)

    threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [job for ids in got for job in ids]
    assert len(every) == 400
    assert len(set(every)) == 400


class Flaky(IoHandler):
    kind = "flaky"
    max_attempts = 3

    def __init__(self, answers: list[Outcome]) -> None:
        self.answers = answers
        self.tries = 0

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=10 * attempts)

    def handle(self, jobs: Sequence[Claimed], now: datetime) -> list[Outcome]:
        self.tries += len(jobs)
        return [self.answers.pop(0) for _ in jobs]


def test_retries_back_off_then_dead_letter_with_the_reason_then_retry(
    factory: sessionmaker[Session],
) -> None:
    clock = FixedClock(START)
    handler = Flaky([Retry("503"), Retry("timeout"), Retry("503 again"), Done()])
    worker = Worker(factory, clock, {"flaky": handler}, lease=LEASE)
    with transaction(factory) as session:
        queue.enqueue(session, "flaky", {}, now=START)
    assert worker.turn().retried == 1
    (job,) = _jobs(factory)
    assert (job.state, job.attempts, job.run_at, job.last_error) == (
        "queued",
        1,
        START + timedelta(seconds=10),
        "503",
    )
    assert worker.turn().claimed == 0  # not due yet
    clock.advance(timedelta(seconds=10))
    assert worker.turn().retried == 1
    clock.advance(timedelta(seconds=20))
    assert worker.turn().dead == 1
    (job,) = _jobs(factory)
    assert job.state == "dead"
    assert job.last_error == "gave up after 3 tries: 503 again"
    with transaction(factory) as session:
        assert [j.id for j in queue.dead(session)] == [job.id]
        queue.retry(session, job_id=job.id, now=clock.now())
    assert worker.turn().done == 1
    assert [(j.state, j.attempts) for j in _jobs(factory)] == [("done", 1)]
    with transaction(factory) as session:
        (row,) = queue.status(session, now=clock.now())
    assert (row.kind, row.done, row.dead, row.queued) == ("flaky", 1, 0, 0)


def test_a_deferral_is_not_a_try_and_a_failure_is_dead_at_once(
    factory: sessionmaker[Session],
) -> None:
    clock = FixedClock(START)
    until = START + timedelta(minutes=1)
    handler = Flaky([Defer(until, "channel slowed down"), Fail("410 Gone")])
    worker = Worker(factory, clock, {"flaky": handler}, lease=LEASE)
    with transaction(factory) as session:
        queue.enqueue(session, "flaky", {}, now=START)
    worker.turn()
    (job,) = _jobs(factory)
    assert (job.state, job.attempts, job.run_at) == ("queued", 0, until)
    clock.advance(timedelta(minutes=1))
    assert worker.turn().dead == 1
    (job,) = _jobs(factory)
    assert (job.state, job.last_error) == ("dead", "410 Gone")


class Chain(DbHandler):
    """Database work: enqueues a follow-up keyed on the job, and may fail after writing."""

    kind = "chain"

    def __init__(self) -> None:
        self.fail = True

    def run(self, session: Session, job: Claimed, now: datetime) -> Outcome:
        queue.enqueue(session, "follow", {}, now=now, key=f"follow:{job.id}")
        if self.fail:
            self.fail = False
            raise RuntimeError("after writing")
        return Done()


def test_database_work_commits_with_its_done_mark_exactly_once(
    factory: sessionmaker[Session],
) -> None:
    clock = FixedClock(START)
    worker = Worker(factory, clock, {"chain": Chain()}, lease=LEASE)
    with transaction(factory) as session:
        queue.enqueue(session, "chain", {}, now=START)
    assert worker.turn().retried == 1
    assert [j.kind for j in _jobs(factory)] == ["chain"]  # the failed try's write is gone
    clock.advance(timedelta(minutes=5))
    assert worker.turn().done == 1
    assert sorted((j.kind, j.state) for j in _jobs(factory)) == [
        ("chain", "done"),
        ("follow", "queued"),
    ]


def test_an_unknown_kind_is_a_dead_letter_naming_it(factory: sessionmaker[Session]) -> None:
    worker = Worker(factory, FixedClock(START), {}, lease=LEASE)
    with transaction(factory) as session:
        queue.enqueue(session, "nobody", {}, now=START)
    assert worker.turn().dead == 1
    assert _jobs(factory)[0].last_error == "no handler for jobs of kind 'nobody'"


def test_the_schedule_runs_each_slot_once_whatever_the_number_of_workers(
    factory: sessionmaker[Session],
) -> None:
    runs: list[datetime] = []

    def tick(ctx: object, now: datetime) -> str:
        runs.append(now)
        return "ticked"

    clock = FixedClock(START + timedelta(seconds=30))
    entries = (Entry("tick", timedelta(minutes=5), tick),)
    workers = []
    for name in ("a", "b"):
        plan = Schedule(entries)
        from lojal.worker.kinds import Context

        ctx = Context(factory, clock)
        workers.append(
            Worker(
                factory,
                clock,
                {"schedule": ScheduleHandler(ctx, plan)},
                name=name,
                schedule=plan,
                lease=LEASE,
            )
        )
    for w in workers:
        w.run(until_idle=True)
    assert len(runs) == 1
    clock.advance(timedelta(minutes=2))  # same slot
    for w in workers:
        w.run(until_idle=True)
    assert len(runs) == 1
    clock.advance(timedelta(minutes=3))  # the next slot
    for w in workers:
        w.run(until_idle=True)
    assert len(runs) == 2
    with transaction(factory) as session:
        keys = session.scalars(select(Job.key).order_by(Job.id)).all()
        assert session.scalar(select(func.count()).select_from(Job)) == 2
    assert keys == [
        "schedule:tick:2026-03-02T09:00:00+00:00",
        "schedule:tick:2026-03-02T09:05:00+00:00",
    ]
