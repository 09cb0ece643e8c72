from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import BigIntId, JSONType, UTCDateTime

JOB_STATES = ("queued", "running", "done", "dead")


class Job(Base):
    """One piece of work for the worker, written in the transaction of the change that caused
    it. ``key`` (the cause's natural id) makes enqueueing the same fact twice a no-op.

    ``queued`` (due at ``run_at``) → ``running`` (claimed: ``locked_by`` until
    ``locked_until``; a lease that runs out makes it claimable again) → ``done``, or back to
    ``queued`` with a later ``run_at`` (a retry), or ``dead`` after ``max_attempts`` tries
    (the job's own, else its kind's; ``last_error`` says why). ``attempts`` counts claims
    and fences a stale worker's answer."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"state IN {JOB_STATES!r}", name="state"),
        Index(
            "ix_jobs_due",
            "run_at",
            "id",
            sqlite_where=text("state IN ('queued', 'running')"),
            postgresql_where=text("state IN ('queued', 'running')"),
        ),
        Index(
            "ix_jobs_dead",
            "id",
            sqlite_where=text("state = 'dead'"),
            postgresql_where=text("state = 'dead'"),
        ),
        Index(
            "ix_jobs_finished_at",
            "finished_at",
            sqlite_where=text("state = 'done'"),
            postgresql_where=text("state = 'done'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(8), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # None: as many as the kind's handler allows
    max_attempts: Mapped[int | None] = mapped_column(Integer)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
