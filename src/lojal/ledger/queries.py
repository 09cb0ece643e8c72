"""Reading the ledger. Balances are reported as of a moment: the stored balance (a cache of the
postings) adjusted by what the member's lots owe at that moment (``entries.settlement``) — a
pending lot past its pending period counts as available, a lot past its expiry is gone, even
before ``lojal jobs run`` has written the entries. ``verify`` checks every promise the
ledger makes against the postings. Nothing here writes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from lojal.ledger import entries
from lojal.ledger.entries import MEMBER_AVAILABLE, MEMBER_PENDING, Lot
from lojal.ledger.errors import LedgerMismatch
from lojal.ledger.models import JournalEntry, PointBalance, PointLot, Posting


@dataclass(frozen=True, slots=True)
class BalanceNow:
    """A member's points as of ``at``; ``lots`` (when asked for) are the open lots at ``at``,
    soonest to expire first."""

    at: datetime
    pending: int
    available: int
    lifetime_earned: int
    lifetime_spent: int
    lifetime_expired: int
    lots: list[Lot]


def as_lot(row: PointLot) -> Lot:
    return Lot(row.id, row.state, row.remaining, row.earned_at, row.expires_at, row.available_at)


def open_lots_by_expiry(session: Session, member_id: int) -> list[PointLot]:
    lots = session.scalars(
        select(PointLot).where(PointLot.member_id == member_id, PointLot.state != "closed")
    )
    return sorted(lots, key=_by_expiry)


def due_lots(session: Session, member_id: int, *, now: datetime) -> list[PointLot]:
    """The member's lots that owe an entry at ``now`` (usually none): found through the
    ``(member_id, state)`` index, so a member with many lots costs no more."""
    return list(
        session.scalars(
            select(PointLot)
            .where(
                PointLot.member_id == member_id,
                PointLot.state.in_(("pending", "available")),
                or_(
                    and_(PointLot.state == "pending", PointLot.available_at <= now),
                    PointLot.expires_at <= now,
                ),
            )
            .order_by(PointLot.id)
        )
    )


def balance_now(
    session: Session, member_id: int, *, now: datetime, with_lots: bool = False
) -> BalanceNow:
    """The member's points as of ``now`` (see the module docstring). ``with_lots`` reads every
    open lot (for showing them); without, only the lots that owe an entry."""
    stored = session.get(PointBalance, member_id)
    if stored is None:
        raise LedgerMismatch(f"member {member_id} has no points account")
    if with_lots:
        rows = open_lots_by_expiry(session, member_id)
    else:
        rows = due_lots(session, member_id, now=now)
    lots = [as_lot(row) for row in rows]
    pending, available, expired = entries.member_deltas(
        leg for _, _, legs in entries.settlement(lots, now) for leg in legs
    )
    return BalanceNow(
        at=now,
        pending=stored.pending + pending,
        available=stored.available + available,
        lifetime_earned=stored.lifetime_earned,
        lifetime_spent=stored.lifetime_spent,
        lifetime_expired=stored.lifetime_expired + expired,
        lots=sorted(entries.as_of(lots, now), key=_by_expiry) if with_lots else [],
    )


def _by_expiry(lot: PointLot | Lot) -> tuple[bool, datetime | None, datetime, int]:
    return (lot.expires_at is None, lot.expires_at, lot.earned_at, lot.id)


def entries_page(
    session: Session, member_id: int, *, before: int | None, limit: int
) -> tuple[list[JournalEntry], dict[int, list[Posting]]]:
    """A member's entries, newest first, with the postings on their accounts. Entries of a
    merge that name this member only on the other side are included through the postings."""
    ids = select(Posting.entry_id).where(Posting.member_id == member_id).distinct()
    query = select(JournalEntry).where(JournalEntry.id.in_(ids))
    if before is not None:
        query = query.where(JournalEntry.id < before)
    found = list(session.scalars(query.order_by(JournalEntry.id.desc()).limit(limit)))
    postings: dict[int, list[Posting]] = defaultdict(list)
    if found:
        for posting in session.scalars(
            select(Posting).where(Posting.entry_id.in_([e.id for e in found])).order_by(Posting.id)
        ):
            postings[posting.entry_id].append(posting)
    return found, postings


# ---------------------------------------------------------------- stored sums and verifying


def balance(session: Session, member_id: int) -> PointBalance:
    """The stored balance: what the entries written so far sum to. What a member has *now*
    is ``balance_now`` (lots past a boundary count before the job writes them)."""
    row = session.get(PointBalance, member_id)
    if row is None:
        raise LedgerMismatch(f"member {member_id} has no points account")
    return row


def sums_by_account(session: Session, member_id: int | None = None) -> dict[str, int]:
    query = select(Posting.account, func.coalesce(func.sum(Posting.amount), 0)).group_by(
        Posting.account
    )
    if member_id is not None:
        query = query.where(Posting.member_id == member_id)
    return {account: int(total) for account, total in session.execute(query)}


def verify(session: Session) -> list[str]:
    """Every check the ledger promises, as a list of problems (empty when all is well)."""
    problems: list[str] = []
    unbalanced = session.execute(
        select(Posting.entry_id, func.sum(Posting.amount))
        .group_by(Posting.entry_id)
        .having(func.sum(Posting.amount) != 0)
        .limit(10)
    ).all()
    problems += [f"entry {e} sums to {s}" for e, s in unbalanced]
    sums = {
        (m, a): int(s)
        for m, a, s in session.execute(
            select(Posting.member_id, Posting.account, func.sum(Posting.amount))
            .where(Posting.account.in_(entries.MEMBER_ACCOUNTS))
            .group_by(Posting.member_id, Posting.account)
        )
    }
    for row in session.scalars(select(PointBalance)):
        pending = sums.get((row.member_id, MEMBER_PENDING), 0)
        available = sums.get((row.member_id, MEMBER_AVAILABLE), 0)
        if (row.pending, row.available) != (pending, available):
            problems.append(
                f"member {row.member_id}: balance {row.pending}/{row.available} but postings "
                f"sum to {pending}/{available}"
            )
    lot_sums = dict(
        session.execute(
            select(Posting.lot_id, func.sum(Posting.amount))
            .where(Posting.lot_id.is_not(None))
            .group_by(Posting.lot_id)
        ).all()
    )
    for lot in session.scalars(select(PointLot)):
        if lot.remaining != int(lot_sums.get(lot.id, 0)):
            problems.append(
                f"lot {lot.id}: remaining {lot.remaining} but postings sum to "
                f"{lot_sums.get(lot.id, 0)}"
            )
    return problems


def balance_column(member_id: ColumnElement[int], part: str = "available") -> ColumnElement[int]:
    """A member's stored points (``available`` or ``pending``) as a column of a query over
    members (0 without an account): segments read the balance this way. It is the stored
    balance, as of the last entry (``lojal jobs run`` moves matured and expired lots)."""
    column = PointBalance.available if part == "available" else PointBalance.pending
    stored = select(column).where(PointBalance.member_id == member_id).scalar_subquery()
    return func.coalesce(stored, 0)
