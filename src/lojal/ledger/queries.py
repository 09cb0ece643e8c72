from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.ledger.models import JournalEntry, PointLot, Posting


def open_lots_by_expiry(session: Session, member_id: int) -> list[PointLot]:
    lots = session.scalars(
        select(PointLot).where(PointLot.member_id == member_id, PointLot.state != "closed")
    )
    return sorted(
        lots, key=lambda lot: (lot.expires_at is None, lot.expires_at, lot.earned_at, lot.id)
    )


def entries_page(
    session: Session, member_id: int, *, before: int | None, limit: int
) -> tuple[list[JournalEntry], dict[int, list[Posting]]]:
    """A member's entries, newest first, with the postings on their accounts. Entries of a
    merge that name this member only on the other side are included through the postings."""
    ids = select(Posting.entry_id).where(Posting.member_id == member_id).distinct()
    query = select(JournalEntry).where(JournalEntry.id.in_(ids))
    if before is not None:
        query = query.where(JournalEntry.id < before)
    entries = list(session.scalars(query.order_by(JournalEntry.id.desc()).limit(limit)))
    postings: dict[int, list[Posting]] = defaultdict(list)
    if entries:
        for posting in session.scalars(
            select(Posting)
            .where(Posting.entry_id.in_([e.id for e in entries]))
            .order_by(Posting.id)
        ):
            postings[posting.entry_id].append(posting)
    return entries, postings
