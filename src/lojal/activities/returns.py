"""Recording returns: what a return gives back of each line (money and points, rounded so that
returning every unit, in any number of returns, gives back exactly the line's), the clawback
of the points (``ledger.service.clawback``), and the reactions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.access.errors import OtherStore
from lojal.activities import queries
from lojal.activities.dating import Sender
from lojal.activities.errors import InvalidReturn, NothingToReturn, OrderNotFound
from lojal.activities.events import ReturnRecorded
from lojal.activities.models import Purchase, PurchaseLine, Return, ReturnLine
from lojal.activities.recorded import Recorded, check_date
from lojal.activities.schemas import ReturnCreate
from lojal.ledger import service as ledger


def line_points_returned(points: int, quantity: int, before: int, after: int) -> int:
    """Points of a line that ``after - before`` returned units take back. Cumulative rounding:
    returning every unit, in any number of returns, takes back exactly the line's points."""
    return points * after // quantity - points * before // quantity


def record_return(
    session: Session,
    *,
    data: ReturnCreate,
    now: datetime,
    sender: Sender = Sender.INTERNAL,
    store: str | None = None,
) -> Recorded:
    """``store``: the one store whose orders the sender may return (a till's), or None."""
    existing = session.scalar(select(Return).where(Return.return_id == data.return_id))
    if existing is not None:
        if store is not None:
            _of_store(session.get(Purchase, existing.purchase_id), store, data.order_id)
        return Recorded(existing, "", False)
    occurred_at = data.occurred_at or now
    check_date(session, occurred_at, now=now, sender=sender, what="a return")
    purchase = session.scalar(
        select(Purchase).where(Purchase.order_id == data.order_id).with_for_update()
    )
    if purchase is None:
        raise OrderNotFound(f"order {data.order_id!r} has not been recorded", field="order_id")
    if store is not None:
        _of_store(purchase, store, data.order_id)
    lines = list(
        session.scalars(
            select(PurchaseLine)
            .where(PurchaseLine.purchase_id == purchase.id)
            .order_by(PurchaseLine.line_no)
        )
    )
    done = queries.returned_quantities(session, purchase.id)
    left = {line.id: line.quantity - done.get(line.id, 0) for line in lines}
    wanted: dict[int, int] = {}
    if data.lines is None:
        wanted = {line_id: qty for line_id, qty in left.items() if qty > 0}
        if not wanted:
            raise NothingToReturn(f"order {data.order_id!r} has already been returned in full")
    else:
        for i, item in enumerate(data.lines):
            line = _find_line(lines, item.line_no, item.sku, left, wanted)
            if line is None:
                raise InvalidReturn(
                    f"lines[{i}]: order {data.order_id!r} has no line "
                    f"{item.line_no if item.line_no is not None else item.sku!r} left to return",
                    field=f"lines[{i}]",
                )
            room = left[line.id] - wanted.get(line.id, 0)
            if item.quantity > room:
                raise InvalidReturn(
                    f"lines[{i}].quantity: {item.quantity} returned but only {room} of "
                    f"line {line.line_no} ({line.sku}) can still be returned",
                    field=f"lines[{i}].quantity",
                )
            wanted[line.id] = wanted.get(line.id, 0) + item.quantity
    row = Return(
        return_id=data.return_id,
        purchase_id=purchase.id,
        member_id=purchase.member_id,
        occurred_at=occurred_at,
        total_minor=0,
        points_clawed_back=0,
        points_unrecovered=0,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    by_id = {line.id: line for line in lines}
    total_minor = 0
    points = 0
    for line_id, qty in wanted.items():
        line = by_id[line_id]
        before = done.get(line_id, 0)
        amount = line.total_minor * (before + qty) // line.quantity - (
            line.total_minor * before // line.quantity
        )
        line_points = line_points_returned(line.points, line.quantity, before, before + qty)
        session.add(
            ReturnLine(
                return_id=row.id,
                purchase_line_id=line_id,
                member_id=purchase.member_id,
                quantity=qty,
                amount_minor=amount,
                points=line_points,
            )
        )
        total_minor += amount
        points += line_points
    fully_returned = all(left[line_id] - wanted.get(line_id, 0) == 0 for line_id in left)
    if fully_returned:
        points += purchase.order_points
    row.total_minor = total_minor
    if points > 0 and purchase.member_id is not None:
        clawback(session, row, purchase, points, now)
    session.flush()
    if purchase.member_id is not None:
        reactions.after_returns(session, [return_recorded(row, purchase, fully_returned)], now)
    return Recorded(row, "", True)


def return_recorded(row: Return, purchase: Purchase, whole: bool) -> ReturnRecorded:
    assert purchase.member_id is not None
    return ReturnRecorded(
        return_id=row.id,
        purchase_id=purchase.id,
        order_id=purchase.order_id,
        member_id=purchase.member_id,
        occurred_at=row.occurred_at,
        total_minor=row.total_minor,
        points_clawed_back=row.points_clawed_back,
        whole_order_returned=whole,
    )


def clawback(session: Session, row: Return, purchase: Purchase, points: int, now: datetime) -> None:
    assert purchase.member_id is not None
    own_lot = queries.own_lot(session, purchase.id)
    _, short = ledger.clawback(
        session,
        member_id=purchase.member_id,
        points=points,
        own_lot_id=own_lot,
        key=f"return:{row.id}",
        now=now,
        explanation=f"-{points} points: return {row.return_id} of order {purchase.order_id}",
        detail={"return_id": row.return_id, "order_id": purchase.order_id},
    )
    row.points_clawed_back = points - short
    row.points_unrecovered = short


def _find_line(
    lines: Sequence[PurchaseLine],
    line_no: int | None,
    sku: str | None,
    left: dict[int, int],
    wanted: dict[int, int],
) -> PurchaseLine | None:
    for line in lines:
        if line_no is not None and line.line_no != line_no:
            continue
        if sku is not None and line.sku != sku:
            continue
        if line_no is not None or left[line.id] - wanted.get(line.id, 0) > 0:
            return line
    return None


def _of_store(purchase: Purchase | None, store: str, order_id: str) -> None:
    if purchase is None or purchase.store_id != store:
        raise OtherStore(
            f"order {order_id!r} was not bought at store {store!r}: "
            "a till returns its own store's orders only",
            field="order_id",
        )
