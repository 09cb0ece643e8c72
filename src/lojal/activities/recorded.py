"""What a record call answers (``Recorded``; a purchase as ``RecordedPurchase``), a purchase
sent again answered as it was recorded the first time, and the check of who may date
activity when (``lojal.activities.dating``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lojal.activities import dating, queries
from lojal.activities.dating import Sender
from lojal.activities.errors import DateRefused, OrderNotFound
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig

REF_FIELDS = (
    ("email", "email"),
    ("phone", "phone"),
    ("card", "card_number"),
    ("external_id", "external_id"),
)


@dataclass
class Recorded:
    """What a record call did: the row, its award's explanation, and whether it was new."""

    row: Any
    explanation: str
    created: bool


@dataclass(frozen=True, slots=True)
class RecordedLine:
    line_no: int
    sku: str
    name: str | None
    category: str | None
    quantity: int
    unit_price_minor: int
    total_minor: int
    points: int


@dataclass(frozen=True, slots=True)
class RecordedPurchase:
    """A purchase as recorded (or as recorded the first time, for a repeated order id)."""

    id: int
    order_id: str
    member_id: int | None
    channel: str
    store_id: str | None
    occurred_at: datetime
    currency: str
    total_minor: int
    points: int
    lines: tuple[RecordedLine, ...]


def already_recorded(session: Session, order_id: str) -> Recorded | None:
    """The first recording of an order id sent again (a retry answers as a replay, whatever
    its date), or ``None``."""
    if queries.purchase_id_of(session, order_id) is None:
        return None
    return recorded_purchase(session, order_id)


def recorded_purchase(session: Session, order_id: str) -> Recorded:
    """The purchase recorded under ``order_id``, as it was recorded (``created`` False)."""
    purchase = queries.purchase_by_order(session, order_id)
    if purchase is None:
        raise OrderNotFound(f"order {order_id!r} has not been recorded", field="order_id")
    row = RecordedPurchase(
        id=purchase.id,
        order_id=purchase.order_id,
        member_id=purchase.member_id,
        channel=purchase.channel,
        store_id=purchase.store_id,
        occurred_at=purchase.occurred_at,
        currency=purchase.currency,
        total_minor=purchase.total_minor,
        points=purchase.points,
        lines=tuple(
            RecordedLine(
                line.line_no,
                line.sku,
                line.name,
                line.category,
                line.quantity,
                line.unit_price_minor,
                line.total_minor,
                line.points,
            )
            for line in queries.purchase_lines(session, purchase.id)
        ),
    )
    return Recorded(row, queries.explanation(session, f"purchase:{purchase.id}"), False)


def check_date(
    session: Session,
    occurred_at: datetime,
    *,
    now: datetime,
    sender: Sender,
    what: str,
    config: ProgramConfig | None = None,
) -> None:
    if sender is Sender.INTERNAL:
        return
    config = config or program_service.current(session)
    refused = dating.sender_refusal(
        occurred_at, now=now, sender=sender, max_backdate_days=config.max_backdate_days, what=what
    )
    if refused is not None:
        raise DateRefused(f"occurred_at: {refused}", field="occurred_at")
