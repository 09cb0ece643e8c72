"""Recording purchases, one request or a group of requests at a time, through the batch path
every purchase takes (``lojal.activities.bulk``). Returns are ``activities.returns``, events
``activities.member_events``, activity that waited for a member's enrolment
``activities.crediting``.

Purchases, returns and events are append-only and idempotent on their natural ids (order id,
return id, event id): recording the same id again returns what was recorded the first time.

Each record call says who sent it (``dating.Sender``): a channel key (a till, web shop or
app) may date it at most the programme's ``max_backdate_days`` back, and the points of its
late purchase wait the pending period from when lojal learned of it; an admin key may send
history back to 1900; neither may date it ahead. lojal's own callers (the import, the CLI)
check the dates they read themselves. See ``lojal.activities.dating``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from lojal.activities import dating
from lojal.activities.batch import BulkPurchase
from lojal.activities.bulk import import_purchases
from lojal.activities.dating import Sender
from lojal.activities.errors import CurrencyMismatch, DateRefused, UnknownMember
from lojal.activities.events import LineFacts
from lojal.activities.recorded import (
    REF_FIELDS,
    Recorded,
    RecordedLine,
    RecordedPurchase,
    already_recorded,
    recorded_purchase,
)
from lojal.activities.schemas import PurchaseCreate
from lojal.errors import LojalError
from lojal.members.identities import normalise
from lojal.program import service as program_service


def record_purchase(
    session: Session, *, data: PurchaseCreate, now: datetime, sender: Sender = Sender.INTERNAL
) -> Recorded:
    """Record one purchase (see ``record_purchases``); raises what it refuses."""
    outcome = record_purchases(session, items=[data], now=now, sender=sender)[0]
    if isinstance(outcome, LojalError):
        raise outcome
    return outcome


def record_purchases(
    session: Session,
    *,
    items: Sequence[PurchaseCreate],
    now: datetime,
    sender: Sender | Sequence[Sender] = Sender.INTERNAL,
) -> list[Recorded | LojalError]:
    """Record purchases in one batch (``lojal.activities.bulk``), each with its points.

    ``sender``: of all items, or of each (see the module's docstring).

    The answer per item: what was recorded (``created`` False when the order id was recorded
    before: the first recording is given back), or the error that refused it — an identity
    that is not valid, an unknown member id, another currency, a date out of bounds."""
    config = program_service.current(session)
    outcomes: list[Recorded | LojalError | None] = [None] * len(items)
    batch: list[BulkPurchase] = []
    positions: list[int] = []
    for i, data in enumerate(items):
        sent_by = sender if isinstance(sender, Sender) else sender[i]
        occurred_at = data.occurred_at or now
        refused = dating.sender_refusal(
            occurred_at, now=now, sender=sent_by, max_backdate_days=config.max_backdate_days
        )
        if refused is not None:
            outcomes[i] = already_recorded(session, data.order_id) or DateRefused(
                f"occurred_at: {refused}", field="occurred_at"
            )
            continue
        if data.currency is not None and data.currency != config.currency:
            outcomes[i] = CurrencyMismatch(
                f"the club's currency is {config.currency}, not {data.currency}", field="currency"
            )
            continue
        try:
            refs = {
                field: normalise(kind, raw, config.phone_region)
                for kind, field in REF_FIELDS
                if (raw := getattr(data, field))
            }
        except LojalError as exc:
            outcomes[i] = exc
            continue
        batch.append(
            BulkPurchase(
                order_id=data.order_id,
                occurred_at=occurred_at,
                lines=[
                    LineFacts(
                        line.sku,
                        line.quantity,
                        line.unit_price_minor,
                        line.amount,
                        line.name,
                        line.category,
                    )
                    for line in data.lines
                ],
                member_id=data.member_id,
                channel=data.channel,
                store_id=data.store_id,
                attributes=data.attributes,
                pending_from=dating.pending_starts(
                    occurred_at, recorded_at=now, trusted=sent_by.trusted
                ),
                **refs,
            )
        )
        positions.append(i)
    # live purchases: the fraud guards' earn limits and back-dating alert apply
    result = import_purchases(session, batch, now, config=config, details=True, guard=True)
    rejected = {r.index: r for r in result.rejected}
    skipped = set(result.skipped_indices)
    for j, i in enumerate(positions):
        data = items[i]
        if j in rejected:
            bad = rejected[j]
            outcomes[i] = UnknownMember(bad.reason, field=bad.field)
        elif j in skipped:
            outcomes[i] = recorded_purchase(session, data.order_id)
        else:
            written = result.details[j]
            lines = tuple(
                RecordedLine(
                    n,
                    line.sku,
                    line.name,
                    line.category,
                    line.quantity,
                    line.unit_price_minor,
                    line.amount,
                    points,
                )
                for n, (line, points) in enumerate(
                    zip(data.lines, written.line_points, strict=True), start=1
                )
            )
            row = RecordedPurchase(
                id=written.purchase_id,
                order_id=data.order_id,
                member_id=written.member_id,
                channel=data.channel,
                store_id=data.store_id,
                occurred_at=written.occurred_at,
                currency=config.currency,
                total_minor=written.total_minor,
                points=written.points,
                lines=lines,
            )
            outcomes[i] = Recorded(row, written.explanation, True)
    assert all(outcome is not None for outcome in outcomes)
    return [outcome for outcome in outcomes if outcome is not None]
