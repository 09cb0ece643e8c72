"""What a member merge does to segments: ``segment_memberships`` is history and stays with
the merged member, whose current memberships end at the merge (a merged member is in no
segment); the member that carries on joins the static lists the merged member was on. The
dynamic segments are re-evaluated for both by the ``member_merged`` event
(``segments.live``). See ``lojal.members.merging``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lojal.segments.models import Segment, SegmentMembership

TABLES = {"segment_memberships": "kept"}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    lists = set(
        session.scalars(
            select(SegmentMembership.segment_id)
            .join(Segment, Segment.id == SegmentMembership.segment_id)
            .where(
                SegmentMembership.member_id == source_id,
                SegmentMembership.left_at.is_(None),
                Segment.kind == "static",
            )
        )
    )
    ended = (
        session.execute(
            update(SegmentMembership)
            .where(
                SegmentMembership.member_id == source_id,
                SegmentMembership.left_at.is_(None),
                SegmentMembership.segment_id.in_(sorted(lists)),
            )
            .values(left_at=now)
            .returning(SegmentMembership.id),
            execution_options={"synchronize_session": False},
        ).all()
        if lists
        else []
    )
    held = set(
        session.scalars(
            select(SegmentMembership.segment_id).where(
                SegmentMembership.member_id == target_id, SegmentMembership.left_at.is_(None)
            )
        )
    )
    joined = sorted(lists - held)
    for segment_id in joined:
        session.add(SegmentMembership(segment_id=segment_id, member_id=target_id, entered_at=now))
    session.flush()
    if not lists:
        return {}
    return {"lists_joined": joined, "lists_left": len(ended)}
