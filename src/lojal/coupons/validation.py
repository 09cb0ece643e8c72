"""Checking a code: what it gives this basket here and now, or the reason it does not (a class
in ``coupons/errors.py`` whose name is the reason code). ``validate`` is a read — nothing is
held or written; reserving and committing (``coupons.redemptions``) check the same way with
``assess`` before they take a use.

For a till's validation over HTTP, ``check`` admits the caller through the brute-force guard
and validates, in one read; ``writes_after`` says what must then be written through the writer:
a wrong code's count against the caller, and the campaigns' validation counts when they are due
(``coupons.guard.Tally``, kept in memory by the process).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from lojal.activities.errors import CurrencyMismatch
from lojal.coupons import codes, guard, queries
from lojal.coupons.discounts import Basket, BasketLine, Discount, compute
from lojal.coupons.errors import (
    REFUSALS,
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
    StoreNotAllowed,
    UnknownCode,
    WrongCode,
)
from lojal.coupons.guard import Caller, Tally
from lojal.coupons.queries import MISTYPED, UNKNOWN, CodeRow, Rules
from lojal.coupons.schemas import BasketIn, CouponCheck, Customer, ValidationRead
from lojal.members import service as members
from lojal.members.identities import normalise
from lojal.members.queries import member_id_by_identity
from lojal.program import service as program_service

IDENTITIES = (("card", "card_number"), ("email", "email"), ("phone", "phone"))
# A write to run after a validation, in the writer's transaction.
Write = Callable[[Session, datetime], None]


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


def member_of(session: Session, customer: Customer) -> int | None:
    """The member behind the request, if any: by id (following merges), or by an identity
    (an identity that is not a member's is a customer who is not a member)."""
    given = [(kind, raw) for kind, field in IDENTITIES if (raw := getattr(customer, field))]
    if customer.external_id:
        given.append(("external_id", customer.external_id))
    if customer.member_id is None and not given:
        return None  # a till's usual validation: nothing more to import or read
    if customer.member_id is not None:
        return members.resolve(session, members.get(session, customer.member_id)).id
    region = program_service.current(session).phone_region
    for kind, raw in given:
        member_id = member_id_by_identity(session, kind, normalise(kind, raw, region))
        if member_id is not None:
            return members.resolve(session, members.get(session, member_id)).id
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
        and taken - queries.expired_holds(session, code.id, now) >= limit
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


def check(session: Session, *, check: CouponCheck, caller: Caller, now: datetime) -> Validation:
    """A till's validation: the caller admitted by the guard (``TooManyAttempts`` when it must
    wait), then the code validated. A read."""
    guard.admit(session, caller, now)
    return validate(session, check=check, now=now)


def writes_after(validation: Validation, *, caller: Caller, tally: Tally) -> list[Write]:
    """What a validation leaves to write: a wrong code counts against the caller; the
    validation counts for its campaign's report (in ``tally``, written about once a second)."""
    writes: list[Write] = []
    if validation.wrong_guess:

        def count(session: Session, now: datetime) -> None:
            guard.record_failure(session, caller, now)

        writes.append(count)
    if validation.campaign_id is not None:
        tally.add(validation.campaign_id)
        due = tally.due()
        if due is not None:

            def flush(session: Session, now: datetime) -> None:
                guard.write_tally(session, due)

            writes.append(flush)
    return writes
