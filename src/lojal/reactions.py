"""What the club's other features do when something happens to a member — in the same
transaction as the thing itself, so that both commit or neither does.

Each function here is called by the one place that records the fact, and calls each feature
that reacts to it, explicitly (no registry: what reacts to a purchase is read here):

* ``after_purchases``: recorded purchases of members, a whole batch at once (the API's group
  or an import batch), after their rows and points are written;
* ``after_returns``: a return that was recorded for a member's purchase;
* ``after_events``: custom events recorded for members;
* ``after_enrolment``: a new member (with what they enrolled with).

A reaction must be set-based (a batch can hold thousands of purchases), must not commit, and
must be safe to run again for the same facts (an import run twice, a retried request): key what
it writes on the fact's natural id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from lojal.rules.engine import LineFacts

if TYPE_CHECKING:
    from lojal.members.models import Member
    from lojal.members.schemas import MemberCreate


@dataclass(frozen=True, slots=True)
class PurchaseRecorded:
    purchase_id: int
    order_id: str
    member_id: int
    occurred_at: datetime
    channel: str
    store_id: str | None
    total_minor: int
    points: int
    lines: Sequence[LineFacts]
    first_purchase: bool


@dataclass(frozen=True, slots=True)
class ReturnRecorded:
    return_id: int  # the row id
    purchase_id: int
    order_id: str
    member_id: int
    occurred_at: datetime
    total_minor: int  # money returned by this return
    points_clawed_back: int
    whole_order_returned: bool


@dataclass(frozen=True, slots=True)
class EventRecorded:
    event_id: int  # the row id
    member_id: int
    type: str
    occurred_at: datetime
    properties: dict[str, Any]


def after_purchases(session: Session, purchases: Sequence[PurchaseRecorded], now: datetime) -> None:
    if not purchases:
        return


def after_returns(session: Session, returns: Sequence[ReturnRecorded], now: datetime) -> None:
    if not returns:
        return
    from lojal.coupons.redemptions import restore_returned

    restore_returned(session, returns, now)


def after_events(session: Session, events: Sequence[EventRecorded], now: datetime) -> None:
    if not events:
        return


def after_enrolment(session: Session, member: Member, data: MemberCreate, now: datetime) -> None:
    return
