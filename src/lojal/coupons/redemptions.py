"""Using a code at the till or in a web shop: validate, reserve for a basket, commit on an order,
release; and, after a return of the whole order, restore the use when the campaign says so.

A code's uses are two counters on its row: ``uses`` (committed) and ``held`` (reserved for a
basket). Taking a use is one conditional statement::

    UPDATE coupon_codes SET held = held + 1 WHERE id = :id AND uses + held < :limit

so the database decides who gets the last use: on SQLite writes are serialised; on PostgreSQL
a second transaction waits for the first's row lock and then re-checks the condition against
the committed row (READ COMMITTED re-evaluates the WHERE of an UPDATE), so it updates nothing
and is refused. A member's uses of a campaign are counted the same way in
``coupon_member_uses``. Reservations expire (``expires_at``): an abandoned basket gives its use
back when the next reservation of the code needs it, or when ``lojal jobs run`` sweeps.

Rows are locked in one order everywhere — redemption, then code, then the member's counter —
so that PostgreSQL transactions never wait on each other in a circle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lojal.activities.errors import CurrencyMismatch
from lojal.activities.events import ReturnRecorded
from lojal.coupons import codes, queries
from lojal.coupons.discounts import Basket, BasketLine, Discount, compute
from lojal.coupons.errors import (
    REFUSALS,
    AlreadyRedeemed,
    BoundToAnotherMember,
    CampaignInactive,
    ChannelNotAllowed,
    CouponDisabled,
    CouponExpired,
    CouponNotApplicable,
    CouponRefused,
    CouponUsedUp,
    MemberLimitReached,
    MemberRequired,
    MistypedCode,
    NotYetValid,
    ReservationEnded,
    ReservationNotFound,
    StoreNotAllowed,
    UnknownCode,
    WrongCode,
)
from lojal.coupons.models import CouponCampaign, CouponCode, CouponRedemption
from lojal.coupons.queries import MISTYPED, UNKNOWN, CodeRow, Rules
from lojal.coupons.schemas import (
    BasketIn,
    CommitRequest,
    CouponCheck,
    Customer,
    RedemptionRead,
    ReleaseRequest,
    ReserveRequest,
    ValidationRead,
)
from lojal.db.driver import Driver
from lojal.members import service as member_service
from lojal.members.identities import normalise
from lojal.members.queries import member_id_by_identity
from lojal.program import service as program_service

IDENTITIES = (("card", "card_number"), ("email", "email"), ("phone", "phone"))


@dataclass(frozen=True, slots=True)
class Found:
    rules: Rules
    code: CodeRow


@dataclass(frozen=True, slots=True)
class Validation:
    read: ValidationRead
    campaign_id: int | None
    wrong_guess: bool


def find(session: Session, raw: str) -> Found:
    """The code and its campaign, or ``MistypedCode``/``UnknownCode``. A string that is no
    campaign's shape, or whose check character is wrong, is refused without a lookup."""
    text = codes.normalise(raw)
    catalogue = queries.catalogue(session)
    kind = catalogue.classify(text)
    if kind == MISTYPED:
        raise MistypedCode(
            "the code's check character does not match: a typing error?", field="code"
        )
    if kind == UNKNOWN:
        raise UnknownCode("no such code", field="code")
    row = queries.code_row(session, text)
    if row is None or row.campaign_id not in catalogue.campaigns:
        raise UnknownCode("no such code", field="code")
    return Found(catalogue.campaigns[row.campaign_id], row)


def code_by_text(session: Session, raw: str) -> CouponCode:
    row = session.scalar(select(CouponCode).where(CouponCode.code == codes.normalise(raw)))
    if row is None:
        raise UnknownCode("no such code", field="code")
    return row


def member_of(session: Session, customer: Customer) -> int | None:
    """The member behind the request, if any: by id (following merges), or by an identity
    (an identity that is not a member's is a customer who is not a member)."""
    given = [(kind, raw) for kind, field in IDENTITIES if (raw := getattr(customer, field))]
    if customer.external_id:
        given.append(("external_id", customer.external_id))
    if customer.member_id is None and not given:
        return None  # a till's usual validation: nothing more to import or read
    if customer.member_id is not None:
        return member_service.resolve(session, member_service.get(session, customer.member_id)).id
    region = program_service.current(session).phone_region
    for kind, raw in given:
        member_id = member_id_by_identity(session, kind, normalise(kind, raw, region))
        if member_id is not None:
            return member_service.resolve(session, member_service.get(session, member_id)).id
    return None


def _basket(data: BasketIn) -> Basket:
    return Basket(
        total_minor=data.total,
        lines=tuple(
            BasketLine(line.sku, line.amount_minor, line.quantity, line.category)
            for line in data.lines
        ),
    )


def assess(
    session: Session,
    found: Found,
    *,
    basket: BasketIn,
    channel: str,
    store_id: str | None,
    member_id: int | None,
    now: datetime,
    own_hold: int = 0,
) -> Discount:
    """The discount the code gives this basket here and now, or the refusal (raised).
    ``own_hold``: a use this basket already holds (a reservation made again)."""
    rules, code = found.rules, found.code
    if not rules.active:
        raise CampaignInactive(f"the campaign {rules.name!r} is not active")
    if code.disabled:
        raise CouponDisabled("the code has been disabled")
    if rules.valid_from is not None and now < rules.valid_from:
        raise NotYetValid(f"the code is valid from {rules.valid_from.isoformat()}")
    ends = [t for t in (rules.valid_until, code.expires_at) if t is not None]
    if ends and now >= min(ends):
        raise CouponExpired(f"the code expired at {min(ends).isoformat()}")
    if rules.channels and channel not in rules.channels:
        raise ChannelNotAllowed(f"the code cannot be used in the channel {channel!r}")
    if rules.stores and store_id not in rules.stores:
        raise StoreNotAllowed(f"the code cannot be used in store {store_id!r}")
    if code.member_id is not None and member_id != code.member_id:
        if member_id is None:
            raise MemberRequired("the code belongs to a member: identify the member")
        raise BoundToAnotherMember("the code belongs to another member")
    limit = rules.uses_per_code
    taken = code.uses + code.held - own_hold
    if (
        limit is not None
        and taken >= limit
        and taken - _expired_holds(session, code.id, now) >= limit
    ):
        raise CouponUsedUp("the code has been used up")
    if rules.uses_per_member is not None:
        if member_id is None:
            raise MemberRequired("the code can be used a limited number of times per member")
        if queries.member_taken(session, rules.id, member_id) - own_hold >= rules.uses_per_member:
            raise MemberLimitReached(
                f"the member has used this campaign {rules.uses_per_member} time(s)"
            )
    currency = program_service.current(session).currency
    if basket.currency is not None and basket.currency != currency:
        raise CurrencyMismatch(
            f"the club's currency is {currency}, not {basket.currency}",
            field="basket.currency",
        )
    offer = rules.offer
    if code.amount_minor is not None:
        offer = replace(offer, kind="amount", amount_minor=code.amount_minor)
    discount = compute(offer, _basket(basket), currency=currency)
    if discount.reason is not None:
        raise REFUSALS.get(discount.reason, CouponNotApplicable)(discount.detail)
    return discount


def _expired_holds(session: Session, code_id: int, now: datetime) -> int:
    db = Driver.of(session)
    row = db.one(
        "SELECT COUNT(*) FROM coupon_redemptions WHERE code_id = ? AND state = 'reserved' "
        "AND expires_at <= ?",
        (code_id, db.time(now)),
    )
    return int(row[0]) if row else 0


def validate(session: Session, *, check: CouponCheck, now: datetime) -> Validation:
    """What the code gives this basket, or why not — a read, nothing is held or written."""
    text = codes.normalise(check.code)
    try:
        found = find(session, check.code)
    except WrongCode as exc:
        return Validation(_refusal(text, exc.code, exc.detail, None), None, True)
    rules = found.rules
    try:
        member_id = member_of(session, check)
        discount = assess(
            session,
            found,
            basket=check.basket,
            channel=check.channel,
            store_id=check.store_id,
            member_id=member_id,
            now=now,
        )
    except CouponRefused as exc:
        return Validation(_refusal(text, exc.code, exc.detail, rules), rules.id, False)
    limit = rules.uses_per_code
    read = ValidationRead(
        code=codes.display(text),
        valid=True,
        reason=None,
        detail=discount.detail,
        discount_minor=discount.amount_minor,
        campaign_id=rules.id,
        campaign_name=rules.name,
        hashtag=rules.hashtag,
        uses_left=None if limit is None else max(limit - found.code.uses - found.code.held, 0),
    )
    return Validation(read, rules.id, False)


def _refusal(text: str, reason: str, detail: str, rules: Rules | None) -> ValidationRead:
    return ValidationRead(
        code=codes.display(text),
        valid=False,
        reason=reason,
        detail=detail,
        discount_minor=0,
        campaign_id=rules.id if rules else None,
        campaign_name=rules.name if rules else None,
        hashtag=rules.hashtag if rules else None,
        uses_left=None,
    )


# ------------------------------------------------------------------ reserve, commit, release


def _locked(session: Session, code_id: int, **by: str) -> CouponRedemption | None:
    query = select(CouponRedemption).where(CouponRedemption.code_id == code_id)
    for name, value in by.items():
        query = query.where(getattr(CouponRedemption, name) == value)
    return session.scalar(query.with_for_update())


def reserve(session: Session, *, request: ReserveRequest, now: datetime) -> CouponRedemption:
    """Hold a use of the code for the basket ``reference`` until ``ttl_seconds`` from now.
    Reserving again for the same reference answers with the same reservation, with the
    discount worked out for the basket as it is now and the time extended."""
    found = find(session, request.code)
    member_id = member_of(session, request)
    existing = _locked(session, found.code.id, reference=request.reference)
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
            _take(session, found, member_id, hold=True)
        except CouponUsedUp:
            # PostgreSQL: a request for the same basket may have taken the last use while
            # this one waited for the row; it committed its reservation, which is the answer.
            again = _locked(session, found.code.id, reference=request.reference)
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


def commit(session: Session, *, request: CommitRequest, now: datetime) -> CouponRedemption:
    """Redeem the code on ``order_id``: the reservation ``reference`` becomes a redemption, or,
    without one, the basket is checked and a use taken at once. Committing the same order
    again answers with the same redemption."""
    found = find(session, request.code)
    done = _locked(session, found.code.id, order_id=request.order_id)
    if done is not None:
        return done
    if request.reference is not None:
        row = _locked(session, found.code.id, reference=request.reference)
        if row is None:
            raise ReservationNotFound(
                f"no reservation of this code for {request.reference!r}", field="reference"
            )
        if row.state == "redeemed":
            raise AlreadyRedeemed(f"the reservation was redeemed on order {row.order_id!r}")
        if row.state != "reserved":
            raise ReservationEnded(f"the reservation was {row.state}")
        # a reservation past its time that nobody has taken back still holds its use
        _move(session, row, "held", "uses", -1, +1)
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
            _take(session, found, member_id, hold=False)
        except CouponUsedUp:
            # PostgreSQL: a retry of this order may have taken the last use while this one
            # waited for the row; its committed redemption is the answer (as when it is seen
            # before, above).
            again = _locked(session, found.code.id, order_id=request.order_id)
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


def release(session: Session, *, request: ReleaseRequest, now: datetime) -> CouponRedemption:
    """Give the basket's use back (the basket was abandoned or the coupon removed from it)."""
    found = find(session, request.code)
    row = _locked(session, found.code.id, reference=request.reference)
    if row is None:
        raise ReservationNotFound(
            f"no reservation of this code for {request.reference!r}", field="reference"
        )
    if row.state == "redeemed":
        raise AlreadyRedeemed(f"the reservation was redeemed on order {row.order_id!r}")
    if row.state == "reserved":
        _move(session, row, "held", None, -1, 0)
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


def _take(session: Session, found: Found, member_id: int | None, *, hold: bool) -> None:
    """Take a use (``hold``: a reservation's) of the code and of the member's campaign uses;
    the database refuses the one past the limit."""
    db = Driver.of(session)
    column = "held" if hold else "uses"
    limit = found.rules.uses_per_code
    if limit is None:
        db.execute(
            f"UPDATE coupon_codes SET {column} = {column} + 1 WHERE id = ?", (found.code.id,)
        ).close()
    elif _rowcount(
        db,
        f"UPDATE coupon_codes SET {column} = {column} + 1 WHERE id = ? AND uses + held < ?",
        (found.code.id, limit),
    ):
        raise CouponUsedUp("the code has been used up")
    if member_id is None:
        return
    db.execute(
        "INSERT INTO coupon_member_uses (campaign_id, member_id, uses, held) VALUES (?, ?, 0, 0) "
        "ON CONFLICT (campaign_id, member_id) DO NOTHING",
        (found.rules.id, member_id),
    ).close()
    per_member = found.rules.uses_per_member
    sql = (
        f"UPDATE coupon_member_uses SET {column} = {column} + 1 "
        "WHERE campaign_id = ? AND member_id = ?"
    )
    params: tuple[int, ...] = (found.rules.id, member_id)
    if per_member is not None:
        sql += " AND uses + held < ?"
        params = (*params, per_member)
    if _rowcount(db, sql, params):
        raise MemberLimitReached(f"the member has used this campaign {per_member} time(s)")


def _rowcount(db: Driver, sql: str, params: Sequence[object]) -> bool:
    """Run ``sql``; True when it changed no row (the condition refused)."""
    cursor = db.execute(sql, params)
    try:
        return int(cursor.rowcount) == 0
    finally:
        cursor.close()


def _move(
    session: Session,
    row: CouponRedemption,
    source: str | None,
    target: str | None,
    by_source: int,
    by_target: int,
) -> None:
    """Change a redemption's counters on its code and its member's campaign uses."""
    db = Driver.of(session)
    sets = ", ".join(
        f"{col} = {col} + {int(n)}" for col, n in ((source, by_source), (target, by_target)) if col
    )
    db.execute(f"UPDATE coupon_codes SET {sets} WHERE id = ?", (row.code_id,)).close()
    if row.member_id is not None:
        db.execute(
            f"UPDATE coupon_member_uses SET {sets} WHERE campaign_id = ? AND member_id = ?",
            (row.campaign_id, row.member_id),
        ).close()


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
    _give_back(session, ended, "held")
    return len(ended)


def _give_back(session: Session, ended: Sequence[tuple[int, int, int | None]], column: str) -> None:
    if not ended:
        return
    db = Driver.of(session)
    for code_id, n in sorted(Counter(code_id for code_id, _, _ in ended).items()):
        db.execute(
            f"UPDATE coupon_codes SET {column} = {column} - ? WHERE id = ?", (n, code_id)
        ).close()
    members = Counter((c, m) for _, c, m in ended if m is not None)
    for (campaign_id, member_id), n in sorted(members.items()):
        db.execute(
            f"UPDATE coupon_member_uses SET {column} = {column} - ? "
            "WHERE campaign_id = ? AND member_id = ?",
            (n, campaign_id, member_id),
        ).close()


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
    _give_back(session, ended, "uses")
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
