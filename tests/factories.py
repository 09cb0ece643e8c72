"""Test data builders: plain functions with keyword overrides."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from lojal import enrolment
from lojal.activities import member_events, returns
from lojal.activities import service as activities
from lojal.activities.recorded import Recorded
from lojal.activities.schemas import EventCreate, PurchaseCreate, ReturnCreate
from lojal.clock import FixedClock
from lojal.members.models import Member
from lojal.members.schemas import MemberCreate

_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_seq)}"


def member_payload(**kw: Any) -> dict[str, Any]:
    n = next(_seq)
    data: dict[str, Any] = {"email": f"member{n}@example.se", "channel": "api"}
    data.update(kw)
    return data


def make_member(session: Session, clock: FixedClock, **kw: Any) -> Member:
    member = enrolment.enrol(
        session, data=MemberCreate.model_validate(member_payload(**kw)), now=clock.now()
    )
    session.flush()
    return member


def line(
    sku: str = "SKU-1", *, quantity: int = 1, unit_price_minor: int = 10_000, **kw: Any
) -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity, "unit_price_minor": unit_price_minor, **kw}


def purchase_payload(order_id: str | None = None, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": order_id or unique("order"),
        "channel": "store",
        "lines": [line()],
    }
    data.update(kw)
    return data


def return_payload(order_id: str, return_id: str | None = None, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"return_id": return_id or unique("return"), "order_id": order_id}
    data.update(kw)
    return data


def event_payload(type: str = "review_written", **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"event_id": unique("event"), "type": type}
    data.update(kw)
    return data


def make_purchase(
    session: Session, clock: FixedClock, order_id: str | None = None, **kw: Any
) -> Recorded:
    data = PurchaseCreate.model_validate(purchase_payload(order_id, **kw))
    return activities.record_purchase(session, data=data, now=clock.now())


def make_return(session: Session, clock: FixedClock, order_id: str, **kw: Any) -> Recorded:
    data = ReturnCreate.model_validate(return_payload(order_id, **kw))
    return returns.record_return(session, data=data, now=clock.now())


def make_event(
    session: Session, clock: FixedClock, type: str = "review_written", **kw: Any
) -> Recorded:
    data = EventCreate.model_validate(event_payload(type, **kw))
    return member_events.record_event(session, data=data, now=clock.now())
