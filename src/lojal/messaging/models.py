from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import BigIntId, JSONType, UTCDateTime

CHANNELS = ("email", "sms", "push", "inbox")
PURPOSES = ("transactional", "marketing")
STATUSES = ("queued", "sent", "suppressed", "failed")


class Message(Base):
    """One message to one member on one channel. ``queued`` until the worker settles it:
    ``sent`` (the provider took it), ``suppressed`` (no consent, or nowhere to send, at send
    time) or ``failed`` (refused, or out of tries; ``error`` says why). ``batch`` groups a
    send to many: it is complete only when none of its messages is still queued."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel"),
        CheckConstraint(f"purpose IN {PURPOSES!r}", name="purpose"),
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        Index("ix_messages_member_id", "member_id", "id"),
        Index("ix_messages_batch", "batch", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    channel: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(13))
    batch: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(10))
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboxItem(Base):
    """The in-app inbox: what the portal and the apps show a member."""

    __tablename__ = "inbox_items"
    __table_args__ = (Index("ix_inbox_items_member_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    title: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelPause(Base):
    """A channel slowed down by its provider (a 429, an SMTP 421/45x): nothing is sent on it
    before ``until`` (its ``Retry-After``), by any worker."""

    __tablename__ = "channel_pauses"

    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500))
    pauses: Mapped[int] = mapped_column(Integer, default=0)
