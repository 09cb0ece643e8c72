"""Ledger use cases over a session: post balanced entries, spend, adjust, claw back, activate
and expire lots, merge, and verify that the cached balances equal the sums of postings.

Every entry has a unique ``key``; posting an entry whose key exists returns the existing entry
and changes nothing, which is what makes replays, re-imports and jobs run twice harmless.

Every use case that takes points from lots (spend, a negative adjustment, a clawback, a
forfeit, a merge) first ``settle``s the member under the balance lock: it writes the
``activate`` and ``expire`` entries the member's lots owe at ``now`` — the job's own entries,
under the job's keys — so no one spends a point after its expiry or waits for the job to spend
points whose pending period has ended.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.ledger import entries
from lojal.ledger.entries import (
    MEMBER_AVAILABLE,
    MEMBER_PENDING,
    Leg,
    check_balanced,
)
from lojal.ledger.errors import LedgerMismatch, ReasonRequired
from lojal.ledger.models import JournalEntry, PointBalance, PointLot, Posting
from lojal.ledger.queries import as_lot
from lojal.program.schemas import ProgramConfig


@dataclass(frozen=True, slots=True)
class NewLot:
    earned_at: datetime
    available_at: datetime
    expires_at: datetime | None
    source: str


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
        _write_owed(session, by_id[lot.id], kind, now)
    return [lot for lot in lots if lot.state != "closed"]


def _write_owed(session: Session, lot: PointLot, kind: str, now: datetime) -> JournalEntry:
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
    check_balanced(legs)
    points = sum(leg.amount for leg in legs if leg.amount > 0)
    entry = JournalEntry(
        member_id=member_id,
        kind=kind,
        key=key,
        effective_at=effective_at,
        recorded_at=now,
        points=points,
        explanation=explanation[:1000],
        detail=detail or {},
    )
    session.add(entry)
    session.flush()
    by_id = {lot.id: lot for lot in lots}
    created: PointLot | None = None
    if new_lot is not None:
        amount = sum(
            leg.amount
            for leg in legs
            if leg.lot_id is None and leg.account in entries.MEMBER_ACCOUNTS
        )
        created = PointLot(
            member_id=member_id,
            entry_id=entry.id,
            points=amount,
            remaining=amount,
            state="pending" if new_lot.available_at > now else "available",
            earned_at=new_lot.earned_at,
            available_at=new_lot.available_at,
            expires_at=new_lot.expires_at,
            source=new_lot.source[:200],
        )
        session.add(created)
        session.flush()
    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    lot_change: dict[int, int] = defaultdict(int)
    for leg in legs:
        owner = leg.member_id if leg.member_id is not None else member_id
        lot_id = leg.lot_id
        if leg.account in entries.MEMBER_ACCOUNTS:
            if lot_id is None:
                if created is None:
                    raise LedgerMismatch("a member posting without a lot")
                lot_id = created.id
            elif lot_id in by_id:
                lot_change[lot_id] += leg.amount
            deltas[owner][0 if leg.account == MEMBER_PENDING else 1] += leg.amount
        session.add(
            Posting(
                entry_id=entry.id,
                member_id=owner,
                account=leg.account,
                amount=leg.amount,
                lot_id=lot_id,
            )
        )
    for lot_id, change in lot_change.items():
        lot = by_id[lot_id]
        lot.remaining += change
    if kind == "activate":
        for lot in by_id.values():
            lot.state = "available"
    for lot in by_id.values():
        if lot.remaining == 0:
            lot.state = "closed"
    for owner, (pending, available) in deltas.items():
        balance = session.get(PointBalance, owner)
        if balance is None:
            raise LedgerMismatch(f"member {owner} has no points account")
        balance.pending += pending
        balance.available += available
        balance.updated_at = now
        if owner == member_id:
            _lifetime(balance, kind, points, legs)
    session.flush()
    return entry


def _lifetime(balance: PointBalance, kind: str, points: int, legs: Sequence[Leg]) -> None:
    if kind == "earn":
        balance.lifetime_earned += points
    elif kind == "clawback":
        balance.lifetime_earned -= sum(
            leg.amount for leg in legs if leg.account == entries.PROGRAM_ISSUED
        )
    elif kind == "spend":
        balance.lifetime_spent += sum(
            leg.amount for leg in legs if leg.account == entries.PROGRAM_REDEEMED
        )
    elif kind == "expire":
        balance.lifetime_expired += sum(
            leg.amount for leg in legs if leg.account == entries.PROGRAM_EXPIRED
        )
    elif kind == "adjust":
        balance.lifetime_earned += sum(
            -leg.amount for leg in legs if leg.account == entries.PROGRAM_ADJUSTED
        )


def earn(
    session: Session,
    *,
    member_id: int,
    points: int,
    key: str,
    earned_at: datetime,
    now: datetime,
    config: ProgramConfig,
    source: str,
    explanation: str,
    detail: dict[str, Any] | None = None,
    pending_from: datetime | None = None,
) -> JournalEntry:
    """Points earned at ``earned_at``, pending for the programme's ``pending_days`` from
    ``pending_from`` (default: ``earned_at``; see ``lojal.activities.dating``)."""
    existing = find_entry(session, key)
    if existing is not None:
        return existing
    lock_balance(session, member_id)
    lot = NewLot(
        earned_at=earned_at,
        available_at=(pending_from or earned_at) + timedelta(days=config.pending_days),
        expires_at=entries.expiry_for(
            earned_at,
            months=config.expiry.months,
            round_to_month_end=config.expiry.round_to_month_end,
            timezone=config.timezone,
        ),
        source=source,
    )
    legs = entries.earn(points, pending=lot.available_at > now)
    return post(
        session,
        member_id=member_id,
        kind="earn",
        key=key,
        legs=legs,
        effective_at=earned_at,
        now=now,
        explanation=explanation,
        detail=detail,
        new_lot=lot,
    )


def spend(
    session: Session,
    *,
    member_id: int,
    points: int,
    key: str,
    now: datetime,
    reason: str | None = None,
    reference: str | None = None,
) -> JournalEntry:
    existing = find_entry(session, key)
    if existing is not None:
        return existing
    lock_balance(session, member_id)
    # Look again under the lock: a concurrent call with this key may have committed meanwhile.
    existing = find_entry(session, key)
    if existing is not None:
        return existing
    lots = settle(session, member_id=member_id, now=now)
    legs = entries.spend([as_lot(lot) for lot in lots], points)
    text = f"spent {points} points" + (f": {reason}" if reason else "")
    return post(
        session,
        member_id=member_id,
        kind="spend",
        key=key,
        legs=legs,
        effective_at=now,
        now=now,
        explanation=text,
        detail={"reason": reason, "reference": reference},
        lots=lots,
    )


def adjust(
    session: Session,
    *,
    member_id: int,
    points: int,
    reason: str,
    key: str,
    now: datetime,
    config: ProgramConfig,
    actor: str | None = None,
) -> JournalEntry:
    if not reason or not reason.strip():
        raise ReasonRequired("an adjustment needs a reason", field="reason")
    existing = find_entry(session, key)
    if existing is not None:
        return existing
    lock_balance(session, member_id)
    existing = find_entry(session, key)  # again, under the lock (see spend)
    if existing is not None:
        return existing
    detail = {"reason": reason, "actor": actor}
    if points > 0:
        lot = NewLot(
            earned_at=now,
            available_at=now,
            expires_at=entries.expiry_for(
                now,
                months=config.expiry.months,
                round_to_month_end=config.expiry.round_to_month_end,
                timezone=config.timezone,
            ),
            source="adjustment",
        )
        return post(
            session,
            member_id=member_id,
            kind="adjust",
            key=key,
            legs=entries.grant(points),
            effective_at=now,
            now=now,
            explanation=f"+{points} points: {reason}",
            detail=detail,
            new_lot=lot,
        )
    lots = settle(session, member_id=member_id, now=now)
    legs = entries.spend([as_lot(lot) for lot in lots], -points, counter=entries.PROGRAM_ADJUSTED)
    return post(
        session,
        member_id=member_id,
        kind="adjust",
        key=key,
        legs=legs,
        effective_at=now,
        now=now,
        explanation=f"{points} points: {reason}",
        detail=detail,
        lots=lots,
    )


def clawback(
    session: Session,
    *,
    member_id: int,
    points: int,
    own_lot_id: int | None,
    key: str,
    now: datetime,
    explanation: str,
    detail: dict[str, Any] | None = None,
) -> tuple[JournalEntry | None, int]:
    """Take back up to ``points``; returns the entry (None when nothing could be taken) and the
    points that could not be recovered."""
    existing = find_entry(session, key)
    if existing is not None:
        return existing, int(existing.detail.get("unrecovered", 0))
    lock_balance(session, member_id)
    lots = settle(session, member_id=member_id, now=now)
    own = next((lot for lot in lots if lot.id == own_lot_id), None)
    others = [as_lot(lot) for lot in lots if lot.id != own_lot_id]
    legs, short = entries.clawback(as_lot(own) if own else None, others, points)
    if not legs:
        return None, short
    entry = post(
        session,
        member_id=member_id,
        kind="clawback",
        key=key,
        legs=legs,
        effective_at=now,
        now=now,
        explanation=explanation,
        detail={**(detail or {}), "unrecovered": short},
        lots=lots,
    )
    return entry, short


def activate_due(session: Session, *, now: datetime, limit: int = 5000) -> int:
    """Make pending lots whose pending period has passed available. Safe to run twice."""
    lots = list(
        session.scalars(
            select(PointLot)
            .where(PointLot.state == "pending", PointLot.available_at <= now)
            .order_by(PointLot.id)
            .limit(limit)
        )
    )
    for lot in lots:
        lock_balance(session, lot.member_id)
        session.refresh(lot)
        if lot.state != "pending" or lot.remaining == 0:
            continue
        _write_owed(session, lot, "activate", now)
    return len(lots)


def expire_due(session: Session, *, now: datetime, limit: int = 5000) -> int:
    """Expire what is left of lots whose expiry time has passed. Safe to run twice."""
    lots = list(
        session.scalars(
            select(PointLot)
            .where(
                PointLot.state != "closed",
                PointLot.expires_at.is_not(None),
                PointLot.expires_at <= now,
            )
            .order_by(PointLot.id)
            .limit(limit)
        )
    )
    for lot in lots:
        lock_balance(session, lot.member_id)
        session.refresh(lot)
        if lot.state == "closed" or lot.remaining == 0:
            continue
        _write_owed(session, lot, "expire", now)
    return len(lots)


def forfeit_all(session: Session, *, member_id: int, now: datetime, reason: str) -> None:
    """Expire every open lot at once (a closed membership); what had expired already expires
    as the job would have expired it."""
    lock_balance(session, member_id)
    for lot in settle(session, member_id=member_id, now=now):
        if lot.remaining:
            post(
                session,
                member_id=member_id,
                kind="expire",
                key=f"forfeit:{lot.id}",
                legs=entries.expire(as_lot(lot)),
                effective_at=now,
                now=now,
                explanation=f"{lot.remaining} points forfeited: {reason}",
                lots=[lot],
            )


def merge(session: Session, *, into_id: int, from_id: int, now: datetime) -> JournalEntry | None:
    """Move every open lot of ``from_id`` to ``into_id`` keeping its dates; lifetime figures
    follow. One entry, balanced between the two members' accounts."""
    first, second = sorted((into_id, from_id))
    lock_balance(session, first)
    lock_balance(session, second)
    settle(session, member_id=into_id, now=now)
    lots = [lot for lot in settle(session, member_id=from_id, now=now) if lot.remaining > 0]
    source = session.get(PointBalance, from_id)
    target = session.get(PointBalance, into_id)
    assert source is not None
    assert target is not None
    entry: JournalEntry | None = None
    if lots:
        entry = JournalEntry(
            member_id=into_id,
            kind="merge",
            key=f"merge:{from_id}:{into_id}",
            effective_at=now,
            recorded_at=now,
            points=sum(lot.remaining for lot in lots),
            explanation=f"points moved from member {from_id}",
            detail={"from": from_id},
        )
        session.add(entry)
        session.flush()
        for lot in lots:
            account = entries.account_of(lot.state)
            moved = PointLot(
                member_id=into_id,
                entry_id=entry.id,
                points=lot.remaining,
                remaining=lot.remaining,
                state=lot.state,
                earned_at=lot.earned_at,
                available_at=lot.available_at,
                expires_at=lot.expires_at,
                source=f"merge:{lot.id}",
            )
            session.add(moved)
            session.flush()
            session.add_all(
                [
                    Posting(
                        entry_id=entry.id,
                        member_id=from_id,
                        account=account,
                        amount=-lot.remaining,
                        lot_id=lot.id,
                    ),
                    Posting(
                        entry_id=entry.id,
                        member_id=into_id,
                        account=account,
                        amount=lot.remaining,
                        lot_id=moved.id,
                    ),
                ]
            )
            lot.remaining = 0
            lot.state = "closed"
    target.pending += source.pending
    target.available += source.available
    target.lifetime_earned += source.lifetime_earned
    target.lifetime_spent += source.lifetime_spent
    target.lifetime_expired += source.lifetime_expired
    source.pending = source.available = 0
    # the figures move (not copy): programme totals summed over members stay right
    source.lifetime_earned = source.lifetime_spent = source.lifetime_expired = 0
    target.updated_at = source.updated_at = now
    session.flush()
    return entry


# ---------------------------------------------------------------- reading and verifying


def balance(session: Session, member_id: int) -> PointBalance:
    """The stored balance: what the entries written so far sum to. What a member has *now*
    is ``queries.balance_now`` (lots past a boundary count before the job writes them)."""
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
