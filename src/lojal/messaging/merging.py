"""What a member merge does to messaging: the merged member's messages and inbox items become
the target's, so the target's history and inbox show them. See ``lojal.members.merging``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lojal.messaging.models import InboxItem, Message

TABLES = {"messages": "moved", "inbox_items": "moved"}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, model in (("messages", Message), ("inbox_items", InboxItem)):
        count = session.scalar(
            select(func.count()).select_from(model).where(model.member_id == source_id)
        )
        if count:
            session.execute(
                update(model).where(model.member_id == source_id).values(member_id=target_id)
            )
            out[name] = int(count)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (Message, InboxItem)):
            session.expire(obj, ["member_id"])
    return out
