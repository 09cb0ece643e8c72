"""The ledger's use cases over a session: earn, spend, adjust, claw back, activate and expire
lots (the jobs), forfeit, merge. Each builds its entry from ``ledger.entries`` (the legs) and
posts it (``ledger.posting``: the rows of ``ledger.rows``, checked to balance, stored through
the ORM). Reads, and ``verify``, are in ``ledger.queries``; many earn entries at once are
``ledger.bulk.earn_many``.

Every entry has a unique ``key``; posting an entry whose key exists returns the existing entry
and changes nothing, which is what makes replays, re-imports and jobs run twice harmless.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.audit import capture as audit
from lojal.fraud import guards
from lojal.ledger import entries
from lojal.ledger.entries import Leg
from lojal.ledger.errors import ReasonRequired
from lojal.ledger.models import JournalEntry, PointBalance, PointLot
from lojal.ledger.posting import find_entry, lock_balance, post, settle, store, write_owed
from lojal.ledger.queries import as_lot
from lojal.ledger.rows import NewLot, Rows
from lojal.program.schemas import ProgramConfig


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
    config: ProgramConfig | None = None,
) -> JournalEntry:
    """A member spends points (the entry's ``points`` are the points spent). With the
    programme (``config``: every spend a member asks for — the API's, a reward's
    redemption) the fraud guards decide first, under the member's lock: the hold after an
    identity change and the spend limits."""
    existing = find_entry(session, key)
    if existing is not None:
        return existing
    lock_balance(session, member_id)
    # Look again under the lock: a concurrent call with this key may have committed meanwhile.
    existing = find_entry(session, key)
    if existing is not None:
        return existing
    if config is not None:
        guards.check_spend(session, member_id=member_id, points=points, now=now, fraud=config.fraud)
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
        entry = post(
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
    else:
        lots = settle(session, member_id=member_id, now=now)
        legs = entries.spend(
            [as_lot(lot) for lot in lots], -points, counter=entries.PROGRAM_ADJUSTED
        )
        entry = post(
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
    # the entry is on the driver, out of the ORM's sight: the audit trail is told here
    audit.record(
        session,
        action="points.adjusted",
        entity="journal_entries",
        entity_id=entry.id,
        now=now,
        about_member_id=member_id,
        after={"points": points, "reason": reason, "key": key},
    )
    guards.adjustment_alert(
        session,
        fraud=config.fraud,
        member_id=member_id,
        entry_id=entry.id,
        points=points,
        reason=reason,
        actor=audit.actor_of(session),
        now=now,
    )
    return entry


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


def release_held(
    session: Session, *, member_id: int, source: str, available_at: datetime, now: datetime
) -> bool:
    """Points held for review (``lojal.fraud.guards``: a purchase over an earn limit) become
    available at ``available_at``, their usual time — at once when that has passed. False
    when the lot is no longer pending (released already, taken back by a return)."""
    lock_balance(session, member_id)
    lot = session.scalar(
        select(PointLot).where(
            PointLot.member_id == member_id, PointLot.source == source, PointLot.state == "pending"
        )
    )
    if lot is None:
        return False
    lot.available_at = min(lot.available_at, available_at)
    session.flush()
    if lot.available_at <= now and lot.remaining > 0:
        write_owed(session, lot, "activate", now)
    return True


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
        write_owed(session, lot, "activate", now)
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
        write_owed(session, lot, "expire", now)
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
        legs: list[Leg] = []
        opened: list[tuple[int, NewLot]] = []
        for n, lot in enumerate(lots):
            account = entries.account_of(lot.state)
            legs.append(Leg(account, -lot.remaining, lot.id, from_id))
            legs.append(Leg(account, lot.remaining, None, into_id))
            opened.append(
                (n, NewLot(lot.earned_at, lot.available_at, lot.expires_at, f"merge:{lot.id}"))
            )
        rows = Rows()
        rows.entry(
            entry_id=0,
            member_id=into_id,
            kind="merge",
            key=f"merge:{from_id}:{into_id}",
            legs=legs,
            effective_at=now,
            recorded_at=now,
            explanation=f"points moved from member {from_id}",
            detail={"from": from_id},
            new_lots=opened,
        )
        # moves the lots' points between the two balances; what the source's balance holds
        # beyond its lots (nothing, when verify() is clean) moves below with the rest
        entry = store(session, rows, now=now, lots=lots)
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
