"""Journeys, their runs, the messages they sent, and the channels' caps and quiet hours.

A *run* (``journey_runs``) is one member taking one journey once: created when the trigger
fires (in the transaction of the event, or by the date sweep), then moved along its steps by
the worker (``journeys.tasks``). The unique ``(journey_id, member_id, occasion)`` is what makes
"once per member" hold through reruns and crashes: ``occasion`` is ``once`` for a journey
taken once per member, else the trigger's natural id (the event, the local day).

``state``: ``entered`` (waiting for its first step) → ``waiting`` (a wait, or quiet hours,
until ``next_at``) → ``done`` (every step taken), ``held_out`` (in a control group: recorded,
nothing but the journey's transactional messages done) or ``exited`` (the member is gone).
``history`` lists what each step did; ``position`` is where the run is
(``definition.Position``). ``placement`` is where the run was placed at its first wake
(``journeys.control.Placement``: ``treated``, ``global_control``, ``holdout`` or ``exempt``;
None before), kept so that the figures compare members as they were placed.

``journey_control`` is the club's global control group (one row): its secret salt, made once,
its percent and the day its buckets were drawn (``journeys.control.ControlSettings``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import BigIntId, JSONType, UTCDateTime

RUN_STATES = ("entered", "waiting", "done", "held_out", "exited")
CHANNELS = ("email", "sms", "push", "inbox")
PLACEMENTS = ("treated", "global_control", "holdout", "exempt")


class Journey(Base):
    __tablename__ = "journeys"
    __table_args__ = (Index("ix_journeys_trigger_kind", "trigger_kind", "enabled"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    trigger_kind: Mapped[str] = mapped_column(String(32))
    # the whole definition as given (``definition.JourneyDefinition.dump``)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    holdout_percent: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # the last local day the date sweep entered members (a date trigger runs once a day)
    swept_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JourneyRun(Base):
    __tablename__ = "journey_runs"
    __table_args__ = (
        UniqueConstraint("journey_id", "member_id", "occasion"),
        CheckConstraint(f"state IN {RUN_STATES!r}", name="state"),
        CheckConstraint(f"placement IN {PLACEMENTS!r}", name="placement"),
        Index("ix_journey_runs_member_id", "member_id", "journey_id"),
        Index("ix_journey_runs_journey_id_entered_at", "journey_id", "entered_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    occasion: Mapped[str] = mapped_column(String(100))
    # what fired it: ``purchase:812``, ``event:77``, ``date:2026-03-02``
    cause: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), default="entered")
    held_out: Mapped[bool] = mapped_column(Boolean, default=False)
    placement: Mapped[str | None] = mapped_column(String(14))
    position: Mapped[list[int]] = mapped_column(JSONType, default=list)
    # how many times the run was woken (the job key's counter)
    wakes: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # what later steps may read (the coupon code issued)
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # a purchase before this converts the run (entry + the journey's conversion window)
    converts_until: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JourneyMessage(Base):
    """A message a run's send step made (its status is the message's)."""

    __tablename__ = "journey_messages"
    __table_args__ = (Index("ix_journey_messages_journey_id", "journey_id", "message_id"),)

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("journey_runs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    step: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelPolicy(Base):
    """What journeys may send on a channel: at most ``cap_messages`` marketing messages per
    member in ``cap_days`` days (None: no cap), and nothing between ``quiet_from`` and
    ``quiet_until`` (``HH:MM`` in the club's time zone; a window may pass midnight)."""

    __tablename__ = "journey_channel_policies"
    __table_args__ = (CheckConstraint(f"channel IN {CHANNELS!r}", name="channel"),)

    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    cap_messages: Mapped[int | None] = mapped_column(Integer)
    cap_days: Mapped[int | None] = mapped_column(Integer)
    quiet_from: Mapped[str | None] = mapped_column(String(5))
    quiet_until: Mapped[str | None] = mapped_column(String(5))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JourneyControl(Base):
    """The club's global control group: one row (``id`` 1), made with a random ``salt`` the
    first time it is needed and never given out; ``percent`` (0 to 10) of the members, in
    buckets drawn on ``drawn_on``."""

    __tablename__ = "journey_control"
    __table_args__ = (
        CheckConstraint("id = 1", name="one_row"),
        CheckConstraint("percent >= 0 AND percent <= 10", name="percent"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    salt: Mapped[str] = mapped_column(String(64))
    percent: Mapped[float] = mapped_column(Float)
    drawn_on: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
