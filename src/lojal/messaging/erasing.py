"""What erasing a person does to messages and the inbox (see ``lojal.privacy.erasure``): the
delivery records stay as counts (channel, purpose, status, times) for the journeys' figures; what
was written to the person — subject, body, the data it was made from — is removed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from lojal.messaging.models import InboxItem, Message

TABLES = {
    "messages": "kept as delivery records; subject, body and data removed",
    "inbox_items": "deleted",
}


def erase_personal(session: Session, member_ids: Sequence[int]) -> dict[str, int]:
    inbox = session.scalars(
        delete(InboxItem).where(InboxItem.member_id.in_(member_ids)).returning(InboxItem.id)
    ).all()
    messages = session.scalars(
        update(Message)
        .where(Message.member_id.in_(member_ids))
        .values(subject=None, body="", data={})
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    ).all()
    return {"messages": len(messages), "inbox_items": len(inbox)}
