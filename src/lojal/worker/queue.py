"""The job table's life, in SQL that is safe with many workers.

* ``enqueue``/``enqueue_many`` write jobs in the caller's transaction (the transactional
  outbox): they commit with the change that caused them, or not at all. A job with a ``key``
  (the cause's natural id, ``webhook:3:purchase:812``) is written once: ``ON CONFLICT (key) DO
  NOTHING``, so a replayed request, an import run twice or two workers' schedules enqueue it
  once.
* ``claim`` takes up to ``limit`` due jobs in one ``UPDATE … RETURNING``: state ``running``, a
  lease (``locked_by``, ``locked_until``) and one more attempt. On PostgreSQL the rows are
  chosen with ``FOR UPDATE SKIP LOCKED``, so workers side by side never wait for each other or
  take the same job; SQLite has one writer (``BEGIN IMMEDIATE``), so the conditional ``UPDATE``
  alone is the claim. A job whose lease ran out (its worker died) is due again.
* ``settle`` records what became of claimed jobs — done, a retry at a later time, deferred
  (not counted as a try), or dead with the reason — each conditional on the claim still being
  the caller's (``attempts`` is the fencing token): a worker that lost its lease changes
  nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lojal.clock import ensure_utc
from lojal.errors import Conflict, NotFound
from lojal.worker.models import Job

_ERROR_LENGTH = 1000


class JobNotFound(NotFound):
    pass


class JobNotDead(Conflict):
    pass


@dataclass(frozen=True, slots=True)
class NewJob:
    kind: str
    payload: Mapping[str, Any]
    key: str | None = None
    run_at: datetime | None = None
    max_attempts: int | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job this worker holds: ``attempts`` is the fencing token of the claim."""

    id: int
    kind: str
    key: str | None
    payload: dict[str, Any]
    attempts: int
    max_attempts: int | None


def enqueue(
    session: Session,
    kind: str,
    payload: Mapping[str, Any],
    *,
    now: datetime,
    run_at: datetime | None = None,
    key: str | None = None,
    max_attempts: int | None = None,
) -> int | None:
    """Add a job in the session's transaction; its id, or None when ``key`` was enqueued
    before (then nothing is written). ``max_attempts`` None: as many as its kind allows."""
    ids = enqueue_many(
        session, [NewJob(kind, payload, key, run_at, max_attempts)], now=now, returning=True
    )
    return ids[0] if ids else None


def enqueue_many(
    session: Session, jobs: Sequence[NewJob], *, now: datetime, returning: bool = False
) -> list[int]:
    """Add jobs in one statement; the ids of those written (with ``returning``) — a job whose
    key is there already is skipped."""
    if not jobs:
        return []
    rows = [
        {
            "kind": job.kind,
            "key": job.key,
            "payload": dict(job.payload),
            "state": "queued",
            "attempts": 0,
            "max_attempts": job.max_attempts,
            "run_at": job.run_at or now,
            "created_at": now,
        }
        for job in jobs
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Job).on_conflict_do_nothing(index_elements=["key"])
    if returning:
        # one row at a time: RETURNING with executemany is not portable
        ids = []
        for row in rows:
            new = session.execute(statement.values(row).returning(Job.id)).scalar()
            if new is not None:
                ids.append(new)
        return ids
    session.execute(statement, rows)
    return []


def claim(
    session: Session, *, worker: str, now: datetime, limit: int, lease: timedelta
) -> list[Claimed]:
    """Take up to ``limit`` due jobs, oldest due first, for ``lease``."""
    due = (
        select(Job.id)
        .where(
            Job.state.in_(("queued", "running")),
            Job.run_at <= now,
            or_(Job.locked_until.is_(None), Job.locked_until < now),
        )
        .order_by(Job.run_at, Job.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(Job)
        .where(Job.id.in_(due.scalar_subquery()))
        .values(
            state="running",
            locked_by=worker,
            locked_until=now + lease,
            attempts=Job.attempts + 1,
        )
        .returning(Job.id, Job.kind, Job.key, Job.payload, Job.attempts, Job.max_attempts)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(statement).all()
    claimed = [Claimed(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
    claimed.sort(key=lambda job: job.id)
    return claimed


# ------------------------------------------------------------------ settling claimed jobs


@dataclass(frozen=True, slots=True)
class Settled:
    """What became of a claimed job: ``state`` done, queued (again at ``run_at``) or dead."""

    job: Claimed
    state: str
    run_at: datetime | None = None
    error: str | None = None
    # a deferral gives the try back: the job was not tried (a throttled channel)
    refund: bool = False


def settle(session: Session, settled: Iterable[Settled], *, now: datetime) -> int:
    """Record the outcomes of claimed jobs (one statement per kind of outcome); the number
    still held by this claim (the others were taken over by another worker)."""
    done: list[dict[str, Any]] = []
    again: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    for s in settled:
        fence = {"b_id": s.job.id, "b_attempts": s.job.attempts}
        error = s.error[:_ERROR_LENGTH] if s.error else None
        if s.state == "done":
            done.append({**fence, "b_error": error})
        elif s.state == "queued":
            again.append(
                {**fence, "b_error": error, "b_run_at": s.run_at or now, "b_refund": int(s.refund)}
            )
        else:
            dead.append({**fence, "b_error": error})
    held = 0
    fenced = and_(
        Job.id == bindparam("b_id"),
        Job.attempts == bindparam("b_attempts"),
        Job.state == "running",
    )
    if done:
        held += _many(
            session,
            update(Job)
            .where(fenced)
            .values(
                state="done",
                locked_by=None,
                locked_until=None,
                finished_at=now,
                last_error=bindparam("b_error"),
            ),
            done,
        )
    if again:
        held += _many(
            session,
            update(Job)
            .where(fenced)
            .values(
                state="queued",
                locked_by=None,
                locked_until=None,
                run_at=bindparam("b_run_at", type_=Job.run_at.type),
                attempts=Job.attempts - bindparam("b_refund"),
                last_error=func.coalesce(bindparam("b_error"), Job.last_error),
            ),
            again,
        )
    if dead:
        held += _many(
            session,
            update(Job)
            .where(fenced)
            .values(
                state="dead",
                locked_by=None,
                locked_until=None,
                finished_at=now,
                last_error=bindparam("b_error"),
            ),
            dead,
        )
    return held


def _many(session: Session, statement: Any, rows: list[dict[str, Any]]) -> int:
    connection = session.connection()
    result = connection.execute(statement.execution_options(synchronize_session=False), rows)
    return int(result.rowcount)


def still_held(session: Session, job: Claimed) -> bool:
    """Whether this claim is still the job's (for work that must not run after a takeover);
    on PostgreSQL the row stays locked until the transaction ends."""
    query = select(Job.id).where(
        Job.id == job.id, Job.attempts == job.attempts, Job.state == "running"
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.execute(query).scalar() is not None


# ------------------------------------------------------------------ operators


@dataclass(frozen=True, slots=True)
class KindStatus:
    kind: str
    queued: int
    due: int
    running: int
    done: int
    dead: int
    oldest_due: datetime | None


def status(session: Session, *, now: datetime) -> list[KindStatus]:
    """Per kind: how many jobs wait (and of those, how many are due), run, are done, are dead;
    and since when the oldest due job has waited."""
    due = and_(Job.state == "queued", Job.run_at <= now)
    rows = session.execute(
        select(
            Job.kind,
            func.count().filter(Job.state == "queued"),
            func.count().filter(due),
            func.count().filter(Job.state == "running"),
            func.count().filter(Job.state == "done"),
            func.count().filter(Job.state == "dead"),
            func.min(Job.run_at).filter(due),
        )
        .group_by(Job.kind)
        .order_by(Job.kind)
    ).all()
    return [KindStatus(r[0], r[1], r[2], r[3], r[4], r[5], _aware(r[6])) for r in rows]


def _aware(value: Any) -> datetime | None:
    # an aggregate's value is not typed by the column on SQLite
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return ensure_utc(value)


def dead(session: Session, *, kind: str | None = None, limit: int = 100) -> list[Job]:
    """Dead letters, newest first."""
    query = select(Job).where(Job.state == "dead").order_by(Job.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query))


def get(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(f"there is no job {job_id}")
    return job


def retry(session: Session, *, job_id: int, now: datetime) -> Job:
    """A dead letter back in the queue, due now, with its tries counted afresh."""
    job = get(session, job_id)
    if job.state != "dead":
        raise JobNotDead(f"job {job_id} is {job.state}, not dead: only a dead job is retried")
    job.state = "queued"
    job.attempts = 0
    job.run_at = now
    job.finished_at = None
    session.flush()
    return job


def retry_dead(session: Session, *, now: datetime, kind: str | None = None) -> int:
    """Every dead letter (of ``kind``) back in the queue."""
    statement = update(Job).where(Job.state == "dead")
    if kind is not None:
        statement = statement.where(Job.kind == kind)
    result = session.execute(
        statement.values(
            state="queued", attempts=0, run_at=now, finished_at=None
        ).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def purge_done(session: Session, *, older_than: datetime, limit: int = 10_000) -> int:
    """Forget jobs done before ``older_than`` (their keys with them: a cause that old does
    not come again)."""
    ids = select(Job.id).where(Job.state == "done", Job.finished_at < older_than).limit(limit)
    result = session.execute(
        delete(Job)
        .where(Job.id.in_(ids.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))
