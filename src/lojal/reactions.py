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
    from lojal.challenges import progress as challenges
    from lojal.referrals import rewards as referrals
    from lojal.tiers import service as tiers

    # Tiers first: an upgrade is at once, and a challenge targeted at a tier reads the new one.
    tiers.on_purchases(session, purchases, now)
    referrals.on_purchases(session, purchases, now)
    challenges.on_purchases(session, purchases, now)


def after_returns(session: Session, returns: Sequence[ReturnRecorded], now: datetime) -> None:
    if not returns:
        return
    from lojal.challenges import progress as challenges
    from lojal.coupons.redemptions import restore_returned
    from lojal.referrals import rewards as referrals

    referrals.on_returns(session, returns, now)
    challenges.on_returns(session, returns, now)
    restore_returned(session, returns, now)


def after_events(session: Session, events: Sequence[EventRecorded], now: datetime) -> None:
    if not events:
        return
    from lojal.challenges import progress as challenges
    from lojal.tiers import service as tiers

    tiers.on_events(session, events, now)
    challenges.on_events(session, events, now)


def after_enrolment(session: Session, member: Member, data: MemberCreate, now: datetime) -> None:
    from lojal.referrals import service as referrals
    from lojal.tiers import service as tiers

    referrals.on_enrolment(session, member=member, referral_code=data.referral_code, now=now)
    tiers.on_enrolment(session, member, now)
