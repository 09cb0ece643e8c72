"""Posting one entry through the ORM, and what every use case does around it: find an entry by
its key, lock a member's balance row, read the member's open lots, settle what they owe.

``post`` stores an entry built by ``ledger.rows`` — which checks that it balances — as ORM
rows, and brings the lots and balances the caller holds up to date in the same session. Every
entry has a unique ``key``; the use cases (``ledger.service``) look for it first, so posting
the same entry twice writes it once.

Every use case that takes points from lots (spend, a negative adjustment, a clawback, a
forfeit, a merge) first ``settle``s the member under the balance lock: it writes the
``activate`` and ``expire`` entries the member's lots owe at ``now`` — the job's own entries,
under the job's keys — so no one spends a point after its expiry or waits for the job to spend
points whose pending period has ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.ledger import entries
from lojal.ledger.entries import Leg
from lojal.ledger.errors import LedgerMismatch
from lojal.ledger.models import JournalEntry, PointBalance, PointLot, Posting
from lojal.ledger.queries import as_lot
from lojal.ledger.rows import BALANCE_FIGURES, ENTRY_COLUMNS, LOT_COLUMNS, NewLot, Rows

__all__ = [
    "NewLot",
    "find_entry",
    "lock_balance",
    "open_balance",
    "open_lots",
    "post",
    "settle",
    "write_owed",
]


def open_balance(session: Session, *, member_id: int, now: datetime) -> PointBalance:
    balance = PointBalance(
        member_id=member_id,
        pending=0,
        available=0,
        lifetime_earned=0,
        lifetime_spent=0,
        lifetime_expired=0,
        updated_at=now,
    )
    session.add(balance)
    return balance


def find_entry(session: Session, key: str) -> JournalEntry | None:
    return session.scalar(select(JournalEntry).where(JournalEntry.key == key))


def lock_balance(session: Session, member_id: int) -> PointBalance:
    """The member's balance row, locked for the rest of the transaction (PostgreSQL: FOR
    UPDATE; SQLite: the write transaction already excludes other writers)."""
    balance = session.scalar(
        select(PointBalance).where(PointBalance.member_id == member_id).with_for_update()
    )
    if balance is None:
        raise LedgerMismatch(f"member {member_id} has no points account")
    return balance


def open_lots(session: Session, member_id: int) -> list[PointLot]:
    """The member's open lots, oldest first, read afresh (call under ``lock_balance``: rows
    loaded earlier in the session may have changed since)."""
    return list(
        session.scalars(
            select(PointLot)
            .where(PointLot.member_id == member_id, PointLot.state != "closed")
            .order_by(PointLot.earned_at, PointLot.id)
            .execution_options(populate_existing=True)
        )
    )


def settle(session: Session, *, member_id: int, now: datetime) -> list[PointLot]:
    """Write the entries the member's lots owe at ``now`` (``entries.settlement``: activate
    what has passed its pending period, expire what has passed its expiry), exactly as
    ``lojal jobs run`` would, under the same keys. Call under ``lock_balance``. Returns the
    member's lots still open afterwards, oldest first."""
    lots = open_lots(session, member_id)
    by_id = {lot.id: lot for lot in lots}
    for kind, lot, _ in entries.settlement([as_lot(row) for row in lots], now):
        write_owed(session, by_id[lot.id], kind, now)
    return [lot for lot in lots if lot.state != "closed"]


def write_owed(session: Session, lot: PointLot, kind: str, now: datetime) -> JournalEntry:
    """The job's entry for ``lot``: ``activate`` at its ``available_at`` or ``expire`` at its
    ``expires_at``; the key names the lot, so it is written once whoever writes it first."""
    if kind == "activate":
        return post(
            session,
            member_id=lot.member_id,
            kind="activate",
            key=f"activate:{lot.id}",
            legs=entries.activate(as_lot(lot)),
            effective_at=lot.available_at,
            now=now,
            explanation=f"{lot.remaining} points became available",
            lots=[lot],
        )
    assert lot.expires_at is not None
    return post(
        session,
        member_id=lot.member_id,
        kind="expire",
        key=f"expire:{lot.id}",
        legs=entries.expire(as_lot(lot)),
        effective_at=lot.expires_at,
        now=now,
        explanation=f"{lot.remaining} points expired",
        lots=[lot],
    )


def post(
    session: Session,
    *,
    member_id: int,
    kind: str,
    key: str,
    legs: Sequence[Leg],
    effective_at: datetime,
    now: datetime,
    explanation: str = "",
    detail: dict[str, Any] | None = None,
    new_lot: NewLot | None = None,
    lots: Iterable[PointLot] = (),
) -> JournalEntry:
    """Store one balanced entry and bring lots and balances up to date.

    ``lots`` are the ORM rows of the lots the legs name (already loaded by the caller); a
    member leg with ``lot_id`` None goes to ``new_lot``."""
    rows = Rows()
    rows.entry(
        entry_id=0,
        member_id=member_id,
        kind=kind,
        key=key,
        legs=legs,
        effective_at=effective_at,
        recorded_at=now,
        explanation=explanation,
        detail=detail,
        new_lots=[(0, new_lot)] if new_lot is not None else (),
    )
    return store(session, rows, now=now, lots=lots)


def store(
    session: Session, rows: Rows, *, now: datetime, lots: Iterable[PointLot] = ()
) -> JournalEntry:
    """Write the one entry ``rows`` holds (its ids are placeholders: the database gives them)
    through the ORM: the entry, the lots it opens, its postings; then the changes to the
    ``lots`` the caller holds and to the balances."""
    [row] = rows.entries
    entry = JournalEntry(**dict(zip(ENTRY_COLUMNS[1:], row[1:], strict=True)))
    session.add(entry)
    session.flush()
    opened: dict[int, PointLot] = {}
    for lot_row in rows.lots:
        lot = PointLot(
            member_id=lot_row[1],
            entry_id=entry.id,
            **dict(zip(LOT_COLUMNS[3:], lot_row[3:], strict=True)),
        )
        session.add(lot)
        opened[lot_row[0]] = lot
    if opened:
        session.flush()
    for _, owner, account, amount, lot_id, new in rows.postings:
        session.add(
            Posting(
                entry_id=entry.id,
                member_id=owner,
                account=account,
                amount=amount,
                lot_id=opened[lot_id].id if new else lot_id,
            )
        )
    by_id = {lot.id: lot for lot in lots}
    for lot_id, change in rows.lot_changes.items():
        if lot_id in by_id:
            by_id[lot_id].remaining += change
    if entry.kind == "activate":
        for lot in by_id.values():
            lot.state = "available"
    for lot in by_id.values():
        if lot.remaining == 0:
            lot.state = "closed"
    for owner, figures in rows.balances.items():
        balance = session.get(PointBalance, owner)
        if balance is None:
            raise LedgerMismatch(f"member {owner} has no points account")
        for name, change in zip(BALANCE_FIGURES, figures, strict=True):
            if change:
                setattr(balance, name, getattr(balance, name) + change)
        balance.updated_at = now
    session.flush()
    return entry
