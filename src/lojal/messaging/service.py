"""Sending messages: a message row and its job, in the caller's transaction (so a message
goes out only if what caused it committed, and once per ``key``); the in-app inbox is
delivered at once. Batches and their completeness; the inbox's read, unread and archive."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.errors import NotFound
from lojal.members import service as members
from lojal.messaging.models import InboxItem, Message
from lojal.worker import queue

KIND = "message"


class MessageNotFound(NotFound):
    pass


class InboxItemNotFound(NotFound):
    pass


@dataclass(frozen=True, slots=True)
class Draft:
    member_id: int
    channel: str  # email, sms, push, inbox
    body: str
    key: str  # the natural id: the same key is one message
    purpose: str = "marketing"  # or transactional (no marketing consent needed)
    subject: str | None = None
    data: dict[str, Any] | None = None


def send(
    session: Session, drafts: Sequence[Draft], *, now: datetime, batch: str | None = None
) -> list[Message]:
    """Queue each draft (a key seen before gives back the first message)."""
    keys = [d.key for d in drafts]
    known = {m.key: m for m in session.scalars(select(Message).where(Message.key.in_(keys)))}
    made: list[Message] = []
    fresh: list[Message] = []
    for d in drafts:
        if d.key in known:
            made.append(known[d.key])
            continue
        message = Message(
            key=d.key,
            member_id=d.member_id,
            channel=d.channel,
            purpose=d.purpose,
            batch=batch,
            subject=d.subject,
            body=d.body,
            data=d.data or {},
            status="queued",
            created_at=now,
        )
        known[d.key] = message
        made.append(message)
        fresh.append(message)
    session.add_all(fresh)
    session.flush()
    jobs = []
    for m in fresh:
        if m.channel == "inbox":
            session.add(
                InboxItem(
                    member_id=m.member_id,
                    message_id=m.id,
                    title=m.subject,
                    body=m.body,
                    data=m.data,
                    created_at=now,
                )
            )
            m.status, m.sent_at = "sent", now
        else:
            jobs.append(queue.NewJob(KIND, {"message": m.id}, key=f"message:{m.id}"))
    queue.enqueue_many(session, jobs, now=now)
    session.flush()
    return made


def get(session: Session, message_id: int) -> Message:
    message = session.get(Message, message_id)
    if message is None:
        raise MessageNotFound(f"there is no message {message_id}")
    return message


@dataclass(frozen=True, slots=True)
class BatchStatus:
    batch: str
    total: int
    queued: int
    sent: int
    suppressed: int
    failed: int

    @property
    def complete(self) -> bool:
        """Every recipient accounted for: none still queued."""
        return self.queued == 0


def batch_status(session: Session, batch: str) -> BatchStatus:
    counts = dict(
        session.execute(
            select(Message.status, func.count())
            .where(Message.batch == batch)
            .group_by(Message.status)
        ).all()
    )
    if not counts:
        raise MessageNotFound(f"there is no batch {batch!r}")
    return BatchStatus(
        batch,
        sum(counts.values()),
        counts.get("queued", 0),
        counts.get("sent", 0),
        counts.get("suppressed", 0),
        counts.get("failed", 0),
    )


# ------------------------------------------------------------------ the inbox


def inbox(
    session: Session, *, member_id: int, archived: bool = False, limit: int = 100
) -> list[InboxItem]:
    member = members.resolve(session, members.get(session, member_id))
    query = (
        select(InboxItem)
        .where(InboxItem.member_id == member.id)
        .order_by(InboxItem.id.desc())
        .limit(limit)
    )
    query = query.where(
        InboxItem.archived_at.is_not(None) if archived else InboxItem.archived_at.is_(None)
    )
    return list(session.scalars(query))


def unread_count(session: Session, *, member_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(InboxItem)
            .where(
                InboxItem.member_id == member_id,
                InboxItem.read_at.is_(None),
                InboxItem.archived_at.is_(None),
            )
        )
        or 0
    )


def mark(
    session: Session,
    *,
    member_id: int,
    item_id: int,
    now: datetime,
    read: bool | None = None,
    archived: bool | None = None,
) -> InboxItem:
    member = members.resolve(session, members.get(session, member_id))
    item = session.get(InboxItem, item_id)
    if item is None or item.member_id != member.id:
        raise InboxItemNotFound(f"member {member_id} has no inbox item {item_id}")
    if read is not None:
        item.read_at = (item.read_at or now) if read else None
    if archived is not None:
        item.archived_at = (item.archived_at or now) if archived else None
    session.flush()
    return item
