"""What members do with the club's messages, recorded as activity events that name the
message (``properties.message_id``), so that journeys' figures count them by message and
segments can count them per member (``activity: events`` with ``event_type``, as any event):

* ``email_opened``: the open pixel of a tracked email was loaded (once per message);
* ``email_clicked``: a tracked link was followed (once per message and link; ``url``);
* ``email_bounced``: the mail server refused the message for good (SMTP 5xx);
* ``<channel>_unsubscribed``: the member withdrew the channel's consent through a message's
  unsubscribe link (``email_unsubscribed``).

An event for a member who is no longer active, of a message that is gone (an erased
member's), or in a club with no programme yet (activity needs one), is not recorded.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lojal.activities.member_events import record_event
from lojal.activities.schemas import EventCreate
from lojal.errors import ProgramNotConfigured
from lojal.members.models import Member
from lojal.messaging.models import Message

OPENED = "email_opened"
CLICKED = "email_clicked"
BOUNCED = "email_bounced"


def _record(
    session: Session,
    *,
    member_id: int,
    event_id: str,
    type_: str,
    properties: dict[str, Any],
    now: datetime,
) -> bool:
    member = session.get(Member, member_id)
    if member is None or member.status != "active":
        return False
    data = EventCreate(event_id=event_id, type=type_, member_id=member_id, properties=properties)
    try:
        with session.begin_nested():
            recorded = record_event(session, data=data, now=now)
    except ProgramNotConfigured:
        return False
    return recorded.created


def message_event(
    session: Session, *, message_id: int, type_: str, now: datetime, url: str | None = None
) -> bool:
    """Record that the message was opened, clicked (``url``) or bounced; False when it was
    recorded before (an open is counted once per message, a click once per link) or there
    is nobody to record it for."""
    message = session.get(Message, message_id)
    if message is None:
        return False
    event_id = f"{type_}:{message_id}"
    properties: dict[str, Any] = {"message_id": message_id}
    if url is not None:
        event_id += ":" + hashlib.sha256(url.encode()).hexdigest()[:32]
        properties["url"] = url[:500]
    if message.batch:
        properties["batch"] = message.batch
    return _record(
        session,
        member_id=message.member_id,
        event_id=event_id,
        type_=type_,
        properties=properties,
        now=now,
    )


def unsubscribed(session: Session, *, member_id: int, channel: str, now: datetime) -> bool:
    """Record that the member unsubscribed from the channel (once per withdrawal: a second
    click of the same link the same second is the same event)."""
    return _record(
        session,
        member_id=member_id,
        event_id=f"{channel}_unsubscribed:{member_id}:{now.isoformat()}",
        type_=f"{channel}_unsubscribed",
        properties={"channel": channel},
        now=now,
    )
