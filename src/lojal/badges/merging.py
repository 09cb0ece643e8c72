"""What a member merge does to badges: the target holds the union, each badge once
(``member_badges`` is unique per member and badge). A badge both held is held once, earned
as often as the two together earned it (``times`` added), first earned at the earlier and
last earned at the later of the two. See ``lojal.members.merging``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.badges.models import MemberBadge

TABLES = {"member_badges": "combined"}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    theirs = list(session.scalars(select(MemberBadge).where(MemberBadge.member_id == source_id)))
    if not theirs:
        return {}
    mine = {
        row.badge_id: row
        for row in session.scalars(select(MemberBadge).where(MemberBadge.member_id == target_id))
    }
    moved = combined = 0
    for row in theirs:
        held = mine.get(row.badge_id)
        if held is None:
            row.member_id = target_id
            moved += 1
            continue
        held.times += row.times
        held.first_earned_at = min(held.first_earned_at, row.first_earned_at)
        if row.last_earned_at > held.last_earned_at:
            held.last_earned_at, held.source = row.last_earned_at, row.source
        session.delete(row)
        combined += 1
    session.flush()
    return {"moved": moved, "combined": combined}
