"""Reads: the campaigns as each process keeps them in memory (the *catalogue*), campaigns,
batches and codes, the counters validation reads, and the per-campaign report.

The catalogue holds every campaign's rules, the public codes, and the *shapes* of generated
codes (prefix, length, check character). With it a validation knows, before it looks anything
up, whether a string can be a code at all: a string of no campaign's shape, or one whose check
character is wrong, is refused without a query on the codes. A process reloads the catalogue
when ``MAX(coupon_campaigns.revision)`` has moved (one index probe per request), so a campaign
made by another process (the CLI, another server) is seen at once.

A transaction that changes a campaign (``CHANGED`` in its session's ``info``) never stores the
catalogue it reads: if it rolled back, the next change would take the same revision number and
a catalogue of the rolled-back campaigns would pass for current.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, event, func, select
from sqlalchemy.orm import Session

from lojal.activities.models import Purchase
from lojal.coupons import codes
from lojal.coupons.discounts import Offer
from lojal.coupons.errors import CampaignNotFound, UnknownCode
from lojal.coupons.models import (
    CouponBatch,
    CouponCampaign,
    CouponCampaignStats,
    CouponCode,
    CouponRedemption,
)
from lojal.db.driver import Driver

LOOKUP, MISTYPED, UNKNOWN = "lookup", "mistyped", "unknown"


@dataclass(frozen=True, slots=True)
class Rules:
    """A campaign as validation reads it."""

    id: int
    name: str
    hashtag: str | None
    source: str
    offer: Offer
    valid_from: datetime | None
    valid_until: datetime | None
    uses_per_code: int | None
    uses_per_member: int | None
    channels: frozenset[str]
    stores: frozenset[str]
    restore_on_return: bool
    active: bool


@dataclass
class Catalogue:
    revision: int | None = None
    campaigns: dict[int, Rules] = field(default_factory=dict)
    public: dict[str, int] = field(default_factory=dict)
    # total length of a code → the (prefix, has check character) of the campaigns of that length
    shapes: dict[int, set[tuple[str, bool]]] = field(default_factory=dict)

    def classify(self, code: str) -> str:
        """Whether ``code`` (normal form) is worth looking up: LOOKUP, MISTYPED (a campaign's
        shape, but the check character is wrong) or UNKNOWN (no campaign's shape)."""
        if code in self.public:
            return LOOKUP
        mistyped = False
        for prefix, check in self.shapes.get(len(code), ()):
            if not code.startswith(prefix):
                continue
            if not check or codes.is_well_formed(code):
                return LOOKUP
            mistyped = True
        return MISTYPED if mistyped else UNKNOWN


_catalogues: dict[int, Catalogue] = {}
# Set in session.info by a transaction that has changed a campaign; cleared at its end.
CHANGED = "lojal.coupons.changed"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_ended(session: Session) -> None:
    session.info.pop(CHANGED, None)


def forget_catalogue() -> None:
    """Drop what this process holds (after a change here; other processes see the revision)."""
    _catalogues.clear()


def catalogue(session: Session) -> Catalogue:
    db = Driver.of(session, flush=False)
    row = db.one("SELECT MAX(revision) FROM coupon_campaigns")
    revision = None if row is None or row[0] is None else int(row[0])
    key = id(session.get_bind())
    held = _catalogues.get(key)
    if held is not None and held.revision == revision:
        return held
    fresh = Catalogue(revision=revision)
    for campaign in session.scalars(select(CouponCampaign)):
        fresh.campaigns[campaign.id] = rules_of(campaign)
        length = len(campaign.code_prefix) + campaign.code_length + campaign.check_character
        fresh.shapes.setdefault(length, set()).add((campaign.code_prefix, campaign.check_character))
    for code, campaign_id in session.execute(
        select(CouponCode.code, CouponCode.campaign_id).where(CouponCode.public.is_(True))
    ):
        fresh.public[code] = campaign_id
    if session.info.get(CHANGED):
        return fresh
    if len(_catalogues) > 16:
        _catalogues.clear()
    _catalogues[key] = fresh
    return fresh


def get_campaign(session: Session, campaign_id: int) -> CouponCampaign:
    campaign = session.get(CouponCampaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"coupon campaign {campaign_id} does not exist")
    return campaign


def list_campaigns(session: Session, *, include_rewards: bool = False) -> list[CouponCampaign]:
    query = select(CouponCampaign).order_by(CouponCampaign.id)
    if not include_rewards:
        query = query.where(CouponCampaign.source == "campaign")
    return list(session.scalars(query))


def find_batch(session: Session, campaign_id: int, key: str) -> CouponBatch | None:
    return session.scalar(
        select(CouponBatch).where(CouponBatch.campaign_id == campaign_id, CouponBatch.key == key)
    )


def rules_of(campaign: CouponCampaign) -> Rules:
    return Rules(
        id=campaign.id,
        name=campaign.name,
        hashtag=campaign.hashtag,
        source=campaign.source,
        offer=Offer(
            kind=campaign.offer_kind,
            amount_minor=campaign.amount_minor,
            percent=campaign.percent,
            max_discount_minor=campaign.max_discount_minor,
            product_sku=campaign.product_sku,
            min_spend_minor=campaign.min_spend_minor,
            skus=tuple(campaign.skus),
            categories=tuple(campaign.categories),
        ),
        valid_from=campaign.valid_from,
        valid_until=campaign.valid_until,
        uses_per_code=campaign.uses_per_code,
        uses_per_member=campaign.uses_per_member,
        channels=frozenset(campaign.channels),
        stores=frozenset(campaign.stores),
        restore_on_return=campaign.restore_on_return,
        active=campaign.active,
    )


@dataclass(frozen=True, slots=True)
class CodeRow:
    id: int
    code: str
    campaign_id: int
    public: bool
    member_id: int | None
    amount_minor: int | None
    uses: int
    held: int
    expires_at: datetime | None
    disabled: bool


def code_row(session: Session, code: str) -> CodeRow | None:
    db = Driver.of(session)
    row = db.one(
        "SELECT id, campaign_id, public, member_id, amount_minor, uses, held, expires_at, "
        "disabled_at FROM coupon_codes WHERE code = ?",
        (code,),
    )
    if row is None:
        return None
    return CodeRow(
        id=int(row[0]),
        code=code,
        campaign_id=int(row[1]),
        public=bool(row[2]),
        member_id=row[3],
        amount_minor=row[4],
        uses=int(row[5]),
        held=int(row[6]),
        expires_at=None if row[7] is None else db.read_time(row[7]),
        disabled=row[8] is not None,
    )


def code_by_text(session: Session, raw: str) -> CouponCode:
    row = session.scalar(select(CouponCode).where(CouponCode.code == codes.normalise(raw)))
    if row is None:
        raise UnknownCode("no such code", field="code")
    return row


def expired_holds(session: Session, code_id: int, now: datetime) -> int:
    """The code's reservations that are past their time but not yet given back."""
    db = Driver.of(session)
    row = db.one(
        "SELECT COUNT(*) FROM coupon_redemptions WHERE code_id = ? AND state = 'reserved' "
        "AND expires_at <= ?",
        (code_id, db.time(now)),
    )
    return int(row[0]) if row else 0


def member_taken(session: Session, campaign_id: int, member_id: int) -> int:
    """A member's uses and holds of a campaign."""
    db = Driver.of(session)
    row = db.one(
        "SELECT uses + held FROM coupon_member_uses WHERE campaign_id = ? AND member_id = ?",
        (campaign_id, member_id),
    )
    return 0 if row is None else int(row[0])


def public_code_of(session: Session, campaign_id: int) -> str | None:
    return session.scalar(
        select(CouponCode.code)
        .where(CouponCode.campaign_id == campaign_id, CouponCode.public.is_(True))
        .limit(1)
    )


def codes_page(
    session: Session, campaign_id: int, *, batch_id: int | None, after: int | None, limit: int
) -> list[CouponCode]:
    query = select(CouponCode).where(CouponCode.campaign_id == campaign_id)
    if batch_id is not None:
        query = query.where(CouponCode.batch_id == batch_id)
    if after is not None:
        query = query.where(CouponCode.id > after)
    return list(session.scalars(query.order_by(CouponCode.id).limit(limit)))


def batch_filter(session: Session, campaign_id: int, batch_key: str | None) -> int | None:
    """The campaign's codes to list: all (None), or one batch's (its id; -1, which matches no
    code, for a batch that does not exist). ``CampaignNotFound`` for no such campaign."""
    get_campaign(session, campaign_id)
    if batch_key is None:
        return None
    batch = find_batch(session, campaign_id, batch_key)
    return batch.id if batch is not None else -1


def report(session: Session, campaign: CouponCampaign, pending: int = 0) -> dict[str, Any]:
    """The campaign's figures (``pending``: validations this process has not written yet)."""
    cid = campaign.id
    issued, used = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((CouponCode.uses > 0, 1), else_=0)), 0),
        ).where(CouponCode.campaign_id == cid)
    ).one()
    states: Counter[str] = Counter()
    discount = basket = 0
    for state, count, disc, total in session.execute(
        select(
            CouponRedemption.state,
            func.count(),
            func.coalesce(func.sum(CouponRedemption.discount_minor), 0),
            func.coalesce(func.sum(CouponRedemption.basket_total_minor), 0),
        )
        .where(CouponRedemption.campaign_id == cid)
        .group_by(CouponRedemption.state)
    ):
        states[state] = int(count)
        if state == "redeemed":
            discount, basket = int(disc), int(total)
    orders = select(CouponRedemption.order_id).where(
        CouponRedemption.campaign_id == cid, CouponRedemption.state == "redeemed"
    )
    recorded, revenue = session.execute(
        select(func.count(), func.coalesce(func.sum(Purchase.total_minor), 0)).where(
            Purchase.order_id.in_(orders)
        )
    ).one()
    stats = session.get(CouponCampaignStats, cid)
    return {
        "campaign_id": cid,
        "name": campaign.name,
        "hashtag": campaign.hashtag,
        "public_code": public_code_of(session, cid),
        "codes_issued": int(issued),
        "codes_used": int(used),
        "validations": (stats.validations if stats else 0) + pending,
        "reservations_open": states["reserved"],
        "redemptions": states["redeemed"],
        "restored": states["restored"],
        "discount_minor": discount,
        "basket_total_minor": basket,
        "orders_recorded": int(recorded),
        "orders_revenue_minor": int(revenue),
    }


def member_codes(session: Session, member_id: int, limit: int = 200) -> list[CouponCode]:
    """The codes issued to a member, newest first."""
    return list(
        session.scalars(
            select(CouponCode)
            .where(CouponCode.member_id == member_id, CouponCode.disabled_at.is_(None))
            .order_by(CouponCode.id.desc())
            .limit(limit)
        )
    )
