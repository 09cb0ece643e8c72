"""What erasing a person does to the activity tables (see ``lojal.privacy.erasure``): the
purchases, returns and events stay — receipts are bookkeeping records the law keeps (seven years
in Sweden) and they hold no contact data — but the free-form data a shop or an app sent with
them (purchase attributes, event properties) is removed, since it may name the person."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.orm import Session

from lojal.activities.models import Event, Purchase

TABLES = {
    "purchases": "kept (bookkeeping); attributes removed",
    "purchase_lines": "kept (bookkeeping): products, quantities, prices",
    "returns": "kept (bookkeeping)",
    "return_lines": "kept (bookkeeping)",
    "events": "kept as counts and dates; properties removed",
}


def erase_personal(session: Session, member_ids: Sequence[int]) -> dict[str, int]:
    purchases = session.scalars(
        update(Purchase)
        .where(Purchase.member_id.in_(member_ids))
        .values(attributes={})
        .returning(Purchase.id)
        .execution_options(synchronize_session=False)
    ).all()
    events = session.scalars(
        update(Event)
        .where(Event.member_id.in_(member_ids))
        .values(properties={})
        .returning(Event.id)
        .execution_options(synchronize_session=False)
    ).all()
    return {"purchases": len(purchases), "events": len(events)}
