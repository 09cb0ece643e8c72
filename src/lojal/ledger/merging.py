"""What a member merge does to points: every open lot of the merged member moves to the
target with its dates (pending stays pending until the same day, expiry is unchanged), in
one balanced ``merge`` entry (``ledger.service.merge``); the balances follow. Journal
entries and postings are append-only history and stay with the member they were written
for (the target's history shows the merge entry). See ``lojal.members.merging``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from lojal.ledger import service

TABLES = {
    "point_lots": "moved",  # closed on the merged member, opened again on the target
    "point_balances": "combined",
    "journal_entries": "kept",
    "postings": "kept",
}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, int]:
    entry = service.merge(session, into_id=target_id, from_id=source_id, now=now)
    if entry is None:
        return {}
    return {"points": entry.points, "entry_id": entry.id}
