"""A redemption's life at the till or in a web shop: reserve a use for a basket, commit it on an
order, release it; a reservation past its time expires; after a return of the whole order the
use is restored when the campaign says so. Checking the code is ``coupons.validation``; the
counters each step moves, and the order in which rows are locked, are ``coupons.uses``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lojal.activities.events import ReturnRecorded
from lojal.coupons import codes, queries, uses
from lojal.coupons.errors import (
    AlreadyRedeemed,
    CouponUsedUp,
    ReservationEnded,
    ReservationNotFound,
)
from lojal.coupons.models import CouponCampaign, CouponCode, CouponRedemption
from lojal.coupons.schemas import CommitRequest, RedemptionRead, ReleaseRequest, ReserveRequest
from lojal.coupons.validation import Found, assess, find, member_of, validate

# coupons/cli.py still reads ``validate`` from here.
__all__ = [
    "commit",
    "free_expired",
    "release",
    "reserve",
    "restore_returned",
    "to_read",
    "validate",
]


def reserve(session: Session, *, request: ReserveRequest, now: datetime) -> CouponRedemption:
    """Hold a use of the code for the basket ``reference`` until ``ttl_seconds`` from now.
    Reserving again for the same reference answers with the same reservation, with the
    discount worked out for the basket as it is now and the time extended."""
    found = find(session, request.code)
    member_id = member_of(session, request)
    existing = uses.locked(session, found.code.id, reference=request.reference)
    if existing is not None and existing.state == "redeemed":
        return existing
    if existing is not None and existing.state == "restored":
        raise ReservationEnded("this reservation's order was returned; use a new reference")
    found = _fresh(session, found, now)
    if existing is not None:
        session.refresh(existing)  # it may just have expired
    holding = existing is not None and existing.state == "reserved"
    discount = assess(
        session,
        found,
        basket=request.basket,
        channel=request.channel,
        store_id=request.store_id,
        member_id=member_id,
        now=now,
        own_hold=1 if holding else 0,
    )
    if not holding:
        try:
            uses.take(session, found, member_id, hold=True)
        except CouponUsedUp:
            # PostgreSQL: a request for the same basket may have taken the last use while
            # this one waited for the row; it committed its reservation, which is the answer.
            again = uses.locked(session, found.code.id, reference=request.reference)
            if again is not None and again.state == "reserved":
                return again
            raise
    row = existing or CouponRedemption(
        code_id=found.code.id,
        campaign_id=found.rules.id,
        reference=request.reference,
        created_at=now,
    )
    row.member_id = member_id
    row.state = "reserved"
    row.discount_minor = discount.amount_minor
    row.basket_total_minor = request.basket.total
    row.channel = request.channel
    row.store_id = request.store_id
    row.expires_at = now + timedelta(seconds=request.ttl_seconds)
    row.ended_at = None
    session.add(row)
    session.flush()
    return row


def _of_store(row: CouponRedemption | None, store: str | None) -> CouponRedemption | None:
    """``row`` if the caller may act on it: a till (``store`` given) only on its own store's
    reservations and redemptions — another store's look as if they did not exist."""
    if row is None or store is None or row.store_id == store:
        return row
    return None


def commit(
    session: Session, *, request: CommitRequest, now: datetime, store: str | None = None
) -> CouponRedemption:
    """Redeem the code on ``order_id``: the reservation ``reference`` becomes a redemption, or,
    without one, the basket is checked and a use taken at once. Committing the same order
    again answers with the same redemption. A till (``store``) commits only its store's
    reservations."""
    found = find(session, request.code)
    done = uses.locked(session, found.code.id, order_id=request.order_id)
    if done is not None:
        if _of_store(done, store) is None:
            raise AlreadyRedeemed("the code was redeemed on this order at another store")
        return done
    if request.reference is not None:
        row = _of_store(uses.locked(session, found.code.id, reference=request.reference), store)
        if row is None:
            raise ReservationNotFound(
                f"no reservation of this code for {request.reference!r}", field="reference"
            )
        if row.state == "redeemed":
            raise AlreadyRedeemed(f"the reservation was redeemed on order {row.order_id!r}")
        if row.state != "reserved":
            raise ReservationEnded(f"the reservation was {row.state}")
        # a reservation past its time that nobody has taken back still holds its use
        uses.move(session, row, "held", "uses", -1, +1)
    else:
        assert request.basket is not None
        member_id = member_of(session, request)
        found = _fresh(session, found, now)
        discount = assess(
            session,
            found,
            basket=request.basket,
            channel=request.channel,
            store_id=request.store_id,
            member_id=member_id,
            now=now,
        )
        try:
            uses.take(session, found, member_id, hold=False)
        except CouponUsedUp:
            # PostgreSQL: a retry of this order may have taken the last use while this one
            # waited for the row; its committed redemption is the answer (as when it is seen
            # before, above).
            again = uses.locked(session, found.code.id, order_id=request.order_id)
            if again is not None:
                return again
            raise
        row = CouponRedemption(
            code_id=found.code.id,
            campaign_id=found.rules.id,
            member_id=member_id,
            discount_minor=discount.amount_minor,
            basket_total_minor=request.basket.total,
            channel=request.channel,
            store_id=request.store_id,
            created_at=now,
        )
        session.add(row)
    row.state = "redeemed"
    row.order_id = request.order_id
    row.redeemed_at = now
    session.flush()
    return row


def release(
    session: Session, *, request: ReleaseRequest, now: datetime, store: str | None = None
) -> CouponRedemption:
    """Give the basket's use back (the basket was abandoned or the coupon removed from it). A
    till (``store``) releases only its store's reservations."""
    found = find(session, request.code)
    row = _of_store(uses.locked(session, found.code.id, reference=request.reference), store)
    if row is None:
        raise ReservationNotFound(
            f"no reservation of this code for {request.reference!r}", field="reference"
        )
    if row.state == "redeemed":
        raise AlreadyRedeemed(f"the reservation was redeemed on order {row.order_id!r}")
    if row.state == "reserved":
        uses.move(session, row, "held", None, -1, 0)
        row.state = "released"
        row.ended_at = now
        session.flush()
    return row


def _fresh(session: Session, found: Found, now: datetime) -> Found:
    """Free the code's reservations that are past their time, and read its counters again
    if that changed them."""
    if not free_expired(session, now=now, code_id=found.code.id):
        return found
    row = queries.code_row(session, found.code.code)
    assert row is not None
    return Found(found.rules, row)


def free_expired(
    session: Session, *, now: datetime, code_id: int | None = None, limit: int = 5000
) -> int:
    """Reservations past their time give their uses back (state ``expired``). Safe to run
    twice and from several processes: a reservation changes state once."""
    due = (
        select(CouponRedemption.id)
        .where(CouponRedemption.state == "reserved", CouponRedemption.expires_at <= now)
        .order_by(CouponRedemption.id)
        .limit(limit)
    )
    if code_id is not None:
        due = due.where(CouponRedemption.code_id == code_id)
    ended = session.execute(
        update(CouponRedemption)
        .where(CouponRedemption.id.in_(due), CouponRedemption.state == "reserved")
        .values(state="expired", ended_at=now)
        .returning(
            CouponRedemption.code_id, CouponRedemption.campaign_id, CouponRedemption.member_id
        )
        .execution_options(synchronize_session=False)
    ).all()
    uses.give_back(session, ended, "held")
    return len(ended)


def restore_returned(session: Session, returns: Sequence[ReturnRecorded], now: datetime) -> int:
    """The reaction to returns (``lojal.reactions.after_returns``): a code redeemed on an
    order that is now returned in full gets its use back when its campaign says so
    (``restore_on_return``). One statement per batch when no coupon was used on the orders;
    safe to run twice (a redemption is restored once)."""
    orders = sorted({r.order_id for r in returns if r.whole_order_returned})
    if not orders:
        return 0
    restorable = select(CouponCampaign.id).where(CouponCampaign.restore_on_return.is_(True))
    ended = session.execute(
        update(CouponRedemption)
        .where(
            CouponRedemption.order_id.in_(orders),
            CouponRedemption.state == "redeemed",
            CouponRedemption.campaign_id.in_(restorable),
        )
        .values(state="restored", ended_at=now)
        .returning(
            CouponRedemption.code_id, CouponRedemption.campaign_id, CouponRedemption.member_id
        )
        .execution_options(synchronize_session=False)
    ).all()
    uses.give_back(session, ended, "uses")
    return len(ended)


def to_read(session: Session, row: CouponRedemption) -> RedemptionRead:
    code = session.get(CouponCode, row.code_id)
    assert code is not None
    return RedemptionRead(
        id=row.id,
        code=codes.display(code.code),
        campaign_id=row.campaign_id,
        state=row.state,
        reference=row.reference,
        order_id=row.order_id,
        member_id=row.member_id,
        discount_minor=row.discount_minor,
        basket_total_minor=row.basket_total_minor,
        expires_at=row.expires_at,
        redeemed_at=row.redeemed_at,
    )
