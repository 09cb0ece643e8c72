from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from lojal.access import policy
from lojal.activities import member_events, returns, service
from lojal.activities.dating import Sender
from lojal.activities.models import Event, Return
from lojal.activities.recorded import Recorded, RecordedPurchase
from lojal.activities.schemas import (
    EventCreate,
    EventRead,
    LineRead,
    PurchaseCreate,
    PurchaseRead,
    ReturnCreate,
    ReturnRead,
)
from lojal.errors import LojalError
from lojal.web.deps import API_PREFIX, ChannelWrite, Write
from lojal.web.writer import Batch, Reply

router = APIRouter(prefix=API_PREFIX, tags=["activity"])


def purchase_read(recorded: Recorded) -> PurchaseRead:
    row: RecordedPurchase = recorded.row
    return PurchaseRead(
        id=row.id,
        order_id=row.order_id,
        member_id=row.member_id,
        channel=row.channel,
        store_id=row.store_id,
        occurred_at=row.occurred_at,
        currency=row.currency,
        total_minor=row.total_minor,
        points=row.points,
        explanation=recorded.explanation,
        lines=[
            LineRead(
                line_no=line.line_no,
                sku=line.sku,
                name=line.name,
                category=line.category,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                total_minor=line.total_minor,
                points=line.points,
            )
            for line in row.lines
        ],
    )


def _record_purchases(
    session: Session, now: datetime, items: Sequence[tuple[PurchaseCreate, Sender]]
) -> list[Reply]:
    """``items``: each purchase with who sent it (``lojal.activities.dating``)."""
    outcomes = service.record_purchases(
        session,
        items=[body for body, _ in items],
        now=now,
        sender=[sender for _, sender in items],
    )
    return [
        Reply.error(outcome)
        if isinstance(outcome, LojalError)
        else Reply.of(purchase_read(outcome), 201 if outcome.created else 200)
        for outcome in outcomes
    ]


def _sender(write: Write) -> Sender:
    return Sender.ADMIN if write.principal.is_admin else Sender.CHANNEL


# Purchases that arrive together are recorded in one batch.
PURCHASES = Batch("purchases", _record_purchases)


@router.post(
    "/purchases",
    response_model=PurchaseRead,
    status_code=201,
    responses={200: {"description": "The order id was already recorded"}},
)
async def record_purchase(body: PurchaseCreate, write: ChannelWrite) -> Response:
    """A purchase. A till, web shop or app may date it (``occurred_at``) at most the
    programme's ``max_backdate_days`` back (default 3) and its points wait the pending period
    from now; an admin key may send history back to 1900. Nobody may date it more than five
    minutes ahead. A till key records purchases of its own store only."""
    body = policy.at_till(write.principal, body)
    return await write.batch(PURCHASES, (body, _sender(write)))


@router.post(
    "/returns",
    response_model=ReturnRead,
    status_code=201,
    responses={200: {"description": "The return id was already recorded"}},
)
async def record_return(body: ReturnCreate, write: ChannelWrite) -> Response:
    """A return of an order; a till key returns orders of its own store only."""
    store = policy.store_of(write.principal)

    def work(session: Session, now: datetime) -> Reply:
        result = returns.record_return(
            session, data=body, now=now, sender=_sender(write), store=store
        )
        row: Return = result.row
        read = ReturnRead(
            id=row.id,
            return_id=row.return_id,
            order_id=body.order_id,
            member_id=row.member_id,
            occurred_at=row.occurred_at,
            total_minor=row.total_minor,
            points_clawed_back=row.points_clawed_back,
            points_unrecovered=row.points_unrecovered,
        )
        return Reply.of(read, 201 if result.created else 200)

    return await write(work)


@router.post(
    "/events",
    response_model=EventRead,
    status_code=201,
    responses={200: {"description": "The event id was already recorded"}},
)
async def record_event(body: EventCreate, write: ChannelWrite) -> Response:
    body = policy.at_till(write.principal, body)

    def work(session: Session, now: datetime) -> Reply:
        result = member_events.record_event(session, data=body, now=now, sender=_sender(write))
        row: Event = result.row
        read = EventRead(
            id=row.id,
            event_id=row.event_id,
            member_id=row.member_id,
            type=row.type,
            occurred_at=row.occurred_at,
            points=row.points,
            explanation=result.explanation,
        )
        return Reply.of(read, 201 if result.created else 200)

    return await write(work)
