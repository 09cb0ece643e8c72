"""Challenges, each member's progress in them, the activity they counted and their completions.

* ``challenges``: the marketer's definitions (``definition`` holds the validated
  ``ChallengeDefinition``; ``runs_from``/``runs_until`` its run in UTC, resolved at activation).
* ``challenge_progress``: one row per member and challenge that member has taken part in: the
  current attempt, its window and progress, and the completions so far.
* ``challenge_facts``: what each challenge counted, one row per activity (and per value for a
  ``distinct`` goal), unique on the activity's natural id — the same purchase or event is never
  counted twice, and a return knows what its purchase counted.
* ``challenge_completions``: one row per completed attempt, with the reward it gave.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import Amount, BigIntId, JSONType, UTCDateTime

CHALLENGE_STATUSES = ("draft", "active", "ended")
PROGRESS_STATES = ("idle", "active", "done")
SOURCES = ("purchase", "event")


class Challenge(Base):
    __tablename__ = "challenges"
    __table_args__ = (
        CheckConstraint(f"status IN {CHALLENGE_STATUSES!r}", name="status"),
        Index("ix_challenges_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    activity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Bumped by every change, so that compiled challenges are cached per revision.
    revision: Mapped[int] = mapped_column(Integer)
    runs_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    runs_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str | None] = mapped_column(Text)  # the YAML the CLI applied, if any
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChallengeProgress(Base):
    __tablename__ = "challenge_progress"
    __table_args__ = (
        UniqueConstraint("member_id", "challenge_id"),
        CheckConstraint(f"state IN {PROGRESS_STATES!r}", name="state"),
        Index("ix_challenge_progress_challenge_id", "challenge_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10))
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress: Mapped[int] = mapped_column(Amount)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completions: Mapped[int] = mapped_column(Integer)
    last_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChallengeFact(Base):
    __tablename__ = "challenge_facts"
    __table_args__ = (
        # The natural key of what was counted: a purchase or event counts once per challenge
        # (once per value for a distinct goal), however often it is presented.
        UniqueConstraint("member_id", "challenge_id", "source", "source_id", "value"),
        CheckConstraint(f"source IN {SOURCES!r}", name="source"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))
    source_id: Mapped[int] = mapped_column(BigInteger)  # purchases.id or events.id
    value: Mapped[str] = mapped_column(String(200))  # distinct: the value; otherwise ''
    amount: Mapped[int] = mapped_column(Amount)
    # streak: the period's number (see challenges.engine.period_number)
    period: Mapped[int | None] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChallengeCompletion(Base):
    __tablename__ = "challenge_completions"
    __table_args__ = (
        UniqueConstraint("member_id", "challenge_id", "attempt"),
        Index("ix_challenge_completions_challenge_id", "challenge_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    points: Mapped[int] = mapped_column(Amount)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    badge_id: Mapped[int | None] = mapped_column(ForeignKey("badges.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
