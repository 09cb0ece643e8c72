"""What a member merge does to activity: every purchase, line, return and event of the merged
member becomes the target's (history and future returns alike: a return of
an order bought on the old card finds its purchase on the target). See
``lojal.members.merging``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lojal.activities.models import Event, Purchase, PurchaseLine, Return, ReturnLine

TABLES = {
    "purchases": "moved",
    "purchase_lines": "moved",
    "returns": "moved",
    "return_lines": "moved",
    "events": "moved",
}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, int]:
    moved = select(Purchase.id).where(Purchase.member_id == source_id)
    counts: dict[str, int] = {}
    for name, model in (("purchases", Purchase), ("returns", Return), ("events", Event)):
        counts[name] = int(
            session.scalar(
                select(func.count()).select_from(model).where(model.member_id == source_id)
            )
            or 0
        )
    # lines through their purchases (there is no index on purchase_lines.member_id)
    session.execute(
        update(PurchaseLine)
        .where(PurchaseLine.purchase_id.in_(moved), PurchaseLine.member_id == source_id)
        .values(member_id=target_id)
    )
    for table in (Purchase, Return, ReturnLine, Event):
        session.execute(
            update(table).where(table.member_id == source_id).values(member_id=target_id)
        )
    return {name: n for name, n in counts.items() if n}
