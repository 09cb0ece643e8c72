"""Crediting a new member with the activity that arrived for their identities before they
enrolled: purchases first, oldest first, then events.

The purchases go through the same ``prepare``/``apply`` as every purchase
(``activities.bulk.prepare_credit``): the same award, the same caps, the same first purchase
as if they had been recorded live, and the reactions. A purchase's returns recorded while it
waited are then applied to it (points taken back, reactions), before the purchases after it
are credited — the order they happened in. Events get the points the event rules give
(``activities.member_events``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.activities import bulk, queries
from lojal.activities.batch import BulkPurchase, Waiting
from lojal.activities.events import LineFacts
from lojal.activities.member_events import award_event, event_recorded
from lojal.activities.models import Purchase, Return
from lojal.activities.returns import clawback, line_points_returned, return_recorded
from lojal.members.models import Member
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig


def credit_unmatched(
    session: Session, *, member: Member, identities: Sequence[tuple[str, str]], now: datetime
) -> int:
    """Give a new member the purchases and events that arrived for their identities before
    they enrolled, oldest first, with the points the rules give (and any returns applied)."""
    if not identities or not queries.anything_waiting(session, identities):
        return 0
    purchases = queries.waiting_purchases(session, identities)
    events = queries.waiting_events(session, identities)
    if not purchases and not events:
        return 0
    config = program_service.current(session)
    returned = queries.purchases_with_returns(session, [p.id for p in purchases])
    run: list[Purchase] = []
    for purchase in purchases:
        run.append(purchase)
        if purchase.id in returned:
            _credit(session, run, member, config, now)
            run = []
            _apply_earlier_returns(session, purchase.id, now)
    _credit(session, run, member, config, now)
    for event in events:
        event.member_id = member.id
        session.flush()
        award_event(session, event, member, config, now)
        reactions.after_events(session, [event_recorded(event)], now)
    return len(purchases) + len(events)


def _credit(
    session: Session,
    purchases: Sequence[Purchase],
    member: Member,
    config: ProgramConfig,
    now: datetime,
) -> None:
    """Credit ``purchases`` to ``member`` in one batch of the purchase path."""
    if not purchases:
        return
    waiting: list[Waiting] = []
    for purchase in purchases:
        lines = queries.purchase_lines(session, purchase.id)
        waiting.append(
            Waiting(
                purchase_id=purchase.id,
                line_ids=[line.id for line in lines],
                purchase=BulkPurchase(
                    order_id=purchase.order_id,
                    occurred_at=purchase.occurred_at,
                    lines=[
                        LineFacts(
                            line.sku,
                            line.quantity,
                            line.unit_price_minor,
                            line.total_minor,
                            line.name,
                            line.category,
                        )
                        for line in lines
                    ],
                    member_id=member.id,
                    channel=purchase.channel,
                    store_id=purchase.store_id,
                    attributes=purchase.attributes,
                ),
            )
        )
    session.execute(
        update(Return)
        .where(Return.purchase_id.in_([p.id for p in purchases]))
        .values(member_id=member.id)
    )
    bulk.apply(session, bulk.prepare_credit(session, waiting, now, config=config))


def _apply_earlier_returns(session: Session, purchase_id: int, now: datetime) -> None:
    """The returns of a credited purchase recorded while it waited: their lines' points (the
    purchase's points are known now), the clawback, the reactions."""
    purchase = session.get(Purchase, purchase_id)
    assert purchase is not None
    lines = queries.purchase_lines(session, purchase_id)
    by_id = {line.id: line for line in lines}
    done: dict[int, int] = {}
    for row in queries.returns_of(session, purchase_id):
        points = 0
        for rl in queries.return_lines(session, row.id):
            line = by_id[rl.purchase_line_id]
            before = done.get(line.id, 0)
            rl.points = line_points_returned(
                line.points, line.quantity, before, before + rl.quantity
            )
            rl.member_id = purchase.member_id
            done[line.id] = before + rl.quantity
            points += rl.points
        whole = all(done.get(line.id, 0) == line.quantity for line in lines)
        if whole:
            points += purchase.order_points
        if points:
            clawback(session, row, purchase, points, now)
        reactions.after_returns(session, [return_recorded(row, purchase, whole)], now)
