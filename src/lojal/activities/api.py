from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from lojal.activities import service
from lojal.activities.models import Event, Purchase, Return
from lojal.activities.schemas import (
    EventCreate,
    EventRead,
    LineRead,
    PurchaseCreate,
    PurchaseRead,
    ReturnCreate,
    ReturnRead,
)
from lojal.web.deps import Channel, NowDep, SessionDep

router = APIRouter(tags=["activity"])


def _status(response: Response, created: bool) -> None:
    response.status_code = 201 if created else 200


def purchase_read(session: Session, purchase: Purchase, explanation: str) -> PurchaseRead:
    return PurchaseRead(
        id=purchase.id,
        order_id=purchase.order_id,
        member_id=purchase.member_id,
        channel=purchase.channel,
        store_id=purchase.store_id,
        occurred_at=purchase.occurred_at,
        currency=purchase.currency,
        total_minor=purchase.total_minor,
        points=purchase.points,
        explanation=explanation,
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
            for line in service.purchase_lines(session, purchase.id)
        ],
    )


@router.post(
    "/purchases",
    response_model=PurchaseRead,
    status_code=201,
    responses={200: {"description": "The order id was already recorded"}},
)
def record_purchase(
    body: PurchaseCreate, session: SessionDep, now: NowDep, _: Channel, response: Response
) -> PurchaseRead:
    result = service.record_purchase(session, data=body, now=now)
    _status(response, result.created)
    return purchase_read(session, result.row, result.explanation)


@router.post(
    "/returns",
    response_model=ReturnRead,
    status_code=201,
    responses={200: {"description": "The return id was already recorded"}},
)
def record_return(
    body: ReturnCreate, session: SessionDep, now: NowDep, _: Channel, response: Response
) -> ReturnRead:
    result = service.record_return(session, data=body, now=now)
    _status(response, result.created)
    row: Return = result.row
    return ReturnRead(
        id=row.id,
        return_id=row.return_id,
        order_id=body.order_id,
        member_id=row.member_id,
        occurred_at=row.occurred_at,
        total_minor=row.total_minor,
        points_clawed_back=row.points_clawed_back,
        points_unrecovered=row.points_unrecovered,
    )


@router.post(
    "/events",
    response_model=EventRead,
    status_code=201,
    responses={200: {"description": "The event id was already recorded"}},
)
def record_event(
    body: EventCreate, session: SessionDep, now: NowDep, _: Channel, response: Response
) -> EventRead:
    result = service.record_event(session, data=body, now=now)
    _status(response, result.created)
    row: Event = result.row
    return EventRead(
        id=row.id,
        event_id=row.event_id,
        member_id=row.member_id,
        type=row.type,
        occurred_at=row.occurred_at,
        points=row.points,
        explanation=result.explanation,
    )
