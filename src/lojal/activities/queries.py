"""Reads of activity: on the driver for the purchase path (a batch reads each kind once), and
through the ORM for one purchase, return or event. Nothing here writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.activities.models import Event, Purchase, PurchaseLine, Return, ReturnLine
from lojal.db.driver import Driver
from lojal.ledger.models import JournalEntry, PointLot


@dataclass(slots=True)
class MemberRow:
    """What the purchase path reads of a member."""

    id: int
    status: str
    merged_into_id: int | None
    enrolment_channel: str
    attributes: dict[str, Any]
    tier: str | None = None


# ------------------------------------------------------------------ a batch, on the driver


def recorded_order_ids(db: Driver, order_ids: Sequence[str]) -> set[str]:
    """Which of these order ids are recorded already."""
    return {
        row[0]
        for row in db.in_chunks("SELECT order_id FROM purchases WHERE order_id IN ({})", order_ids)
    }


def members_by_identity(db: Driver, kind: str, values: Sequence[str]) -> Iterable[Any]:
    """(value, member id) of the identities of ``kind`` among ``values``."""
    return db.in_chunks(
        "SELECT value, member_id FROM member_identities WHERE kind = ? AND value IN ({})",
        values,
        (kind,),
    )


def load_members(
    db: Driver, wanted: set[int], rows: dict[int, tuple[Any, ...]] | None = None
) -> dict[int, MemberRow]:
    """The members with these ids and the members they were merged into; ``rows`` receives
    each member's row as read (to check later that it has not changed)."""
    members: dict[int, MemberRow] = {}
    todo = set(wanted)
    while todo:
        ids = sorted(todo)
        todo = set()
        for row in db.in_chunks(
            "SELECT id, status, merged_into_id, enrolment_channel, attributes, tier FROM members "
            "WHERE id IN ({})",
            ids,
        ):
            if rows is not None:
                rows[int(row[0])] = tuple(row)
            attributes = db.read_json(row[4]) if row[4] not in (None, "{}") else {}
            member = MemberRow(int(row[0]), row[1], row[2], row[3], attributes or {}, row[5])
            members[member.id] = member
            merged_into = member.merged_into_id
            if merged_into is not None and merged_into not in members:
                todo.add(merged_into)
    return members


def tiers(db: Driver, member_ids: Sequence[int]) -> Iterable[Any]:
    """(member id, tier) of these members."""
    return db.in_chunks("SELECT id, tier FROM members WHERE id IN ({})", member_ids)


def bought_before(db: Driver, member_ids: Sequence[int]) -> set[int]:
    """Which of these members have a purchase recorded."""
    return {
        row[0]
        for row in db.in_chunks(
            "SELECT DISTINCT member_id FROM purchases WHERE member_id IN ({})", member_ids
        )
    }


def anything_waiting(session: Session, identities: Sequence[tuple[str, str]]) -> bool:
    """Whether any purchase or event waits for one of these identities: one indexed read on
    the driver (nearly every enrolment finds nothing, and the ORM's queries per identity and
    table were a third of an enrolment's time)."""
    db = Driver.of(session)
    match = " OR ".join("(identity_kind = ? AND identity_value = ?)" for _ in identities)
    params = [part for pair in identities for part in pair]
    row = db.one(
        f"SELECT EXISTS (SELECT 1 FROM purchases WHERE member_id IS NULL AND ({match})) "
        f"OR EXISTS (SELECT 1 FROM events WHERE member_id IS NULL AND ({match}))",
        [*params, *params],
    )
    return bool(row[0])


# ------------------------------------------------------------------ one at a time, ORM


def purchase_id_of(session: Session, order_id: str) -> int | None:
    return session.scalar(select(Purchase.id).where(Purchase.order_id == order_id))


def purchase_by_order(session: Session, order_id: str) -> Purchase | None:
    return session.scalar(select(Purchase).where(Purchase.order_id == order_id))


def purchase_lines(session: Session, purchase_id: int) -> list[PurchaseLine]:
    return list(
        session.scalars(
            select(PurchaseLine)
            .where(PurchaseLine.purchase_id == purchase_id)
            .order_by(PurchaseLine.line_no)
        )
    )


def returned_quantities(session: Session, purchase_id: int) -> dict[int, int]:
    rows = session.execute(
        select(ReturnLine.purchase_line_id, func.sum(ReturnLine.quantity))
        .join(PurchaseLine, PurchaseLine.id == ReturnLine.purchase_line_id)
        .where(PurchaseLine.purchase_id == purchase_id)
        .group_by(ReturnLine.purchase_line_id)
    )
    return {line_id: int(qty) for line_id, qty in rows}


def explanation(session: Session, key: str) -> str:
    """The explanation of the ledger entry under ``key`` ("" when there is none)."""
    return session.scalar(select(JournalEntry.explanation).where(JournalEntry.key == key)) or ""


def own_lot(session: Session, purchase_id: int) -> int | None:
    """The lot a purchase's points went to."""
    return session.scalar(
        select(PointLot.id)
        .join(JournalEntry, JournalEntry.id == PointLot.entry_id)
        .where(JournalEntry.key == f"purchase:{purchase_id}")
    )


def waiting_purchases(session: Session, identities: Sequence[tuple[str, str]]) -> list[Purchase]:
    """The purchases kept for these identities, oldest first."""
    found = [
        purchase
        for kind, value in identities
        for purchase in session.scalars(
            select(Purchase).where(
                Purchase.member_id.is_(None),
                Purchase.identity_kind == kind,
                Purchase.identity_value == value,
            )
        )
    ]
    return sorted(found, key=lambda purchase: (purchase.occurred_at, purchase.id))


def waiting_events(session: Session, identities: Sequence[tuple[str, str]]) -> list[Event]:
    """The events kept for these identities, oldest first."""
    found = [
        event
        for kind, value in identities
        for event in session.scalars(
            select(Event).where(
                Event.member_id.is_(None),
                Event.identity_kind == kind,
                Event.identity_value == value,
            )
        )
    ]
    return sorted(found, key=lambda event: (event.occurred_at, event.id))


def returns_of(session: Session, purchase_id: int) -> list[Return]:
    return list(
        session.scalars(select(Return).where(Return.purchase_id == purchase_id).order_by(Return.id))
    )


def return_lines(session: Session, return_id: int) -> list[ReturnLine]:
    return list(session.scalars(select(ReturnLine).where(ReturnLine.return_id == return_id)))


def purchases_with_returns(session: Session, purchase_ids: Sequence[int]) -> set[int]:
    if not purchase_ids:
        return set()
    return set(
        session.scalars(
            select(Return.purchase_id).where(Return.purchase_id.in_(purchase_ids)).distinct()
        )
    )
