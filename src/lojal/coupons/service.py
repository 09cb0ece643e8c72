"""Coupon campaigns and their codes: create and change campaigns, generate codes in bulk
(resumable batches), issue one code to a member (what rewards, challenges and referrals call).

Checking codes is ``lojal.coupons.validation``, redeeming them ``lojal.coupons.redemptions``;
the reads are ``lojal.coupons.queries``.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.coupons import codes, queries
from lojal.coupons.errors import (
    BatchMismatch,
    CodeTaken,
    InvalidCampaign,
)
from lojal.coupons.models import CouponBatch, CouponCampaign, CouponCode
from lojal.coupons.schemas import CampaignCreate, CampaignRead, CampaignUpdate, OfferIn
from lojal.db.driver import Driver

# coupons/cli.py still reads these two from here.
get_campaign = queries.get_campaign
list_campaigns = queries.list_campaigns

# Codes written per call of ``generate`` (one transaction each from the CLI; one request each
# over HTTP, so that the writer is never held for long).
CHUNK = 50_000
API_CHUNK = 20_000


def _next_revision(session: Session) -> int:
    # unique: two processes changing campaigns at once cannot both take the same revision
    # (the loser's transaction fails on the constraint and the writer runs it again)
    session.info[queries.CHANGED] = True
    return int(session.scalar(select(func.coalesce(func.max(CouponCampaign.revision), 0))) or 0) + 1


def create_campaign(
    session: Session, *, data: CampaignCreate, now: datetime, source: str = "campaign"
) -> CouponCampaign:
    if data.public_code is not None and queries.code_row(session, data.public_code) is not None:
        raise CodeTaken(f"the code {data.public_code!r} is taken", field="public_code")
    campaign = CouponCampaign(
        name=data.name,
        hashtag=data.hashtag,
        description=data.description,
        source=source,
        offer_kind=data.discount_kind,
        amount_minor=data.amount_minor,
        percent=data.percent,
        max_discount_minor=data.max_discount_minor,
        product_sku=data.product_sku,
        min_spend_minor=data.min_spend_minor,
        skus=list(data.skus),
        categories=list(data.categories),
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        uses_per_code=data.uses_per_code,
        uses_per_member=data.uses_per_member,
        channels=list(data.channels),
        stores=list(data.stores),
        restore_on_return=data.restore_on_return,
        code_length=data.code_length,
        code_prefix=data.code_prefix,
        check_character=data.check_character,
        active=data.active,
        revision=_next_revision(session),
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    session.flush()
    if data.public_code is not None:
        session.add(
            CouponCode(
                campaign_id=campaign.id,
                code=data.public_code,
                public=True,
                uses=0,
                held=0,
                issued_at=now,
            )
        )
        session.flush()
    queries.forget_catalogue()
    return campaign


def update_campaign(
    session: Session, *, campaign_id: int, data: CampaignUpdate, now: datetime
) -> CouponCampaign:
    campaign = queries.get_campaign(session, campaign_id)
    for name in data.model_fields_set:
        value = getattr(data, name)
        if value is None and name not in ("hashtag", "description", "valid_from", "valid_until"):
            continue
        setattr(campaign, name, list(value) if isinstance(value, list) else value)
    if campaign.valid_from and campaign.valid_until and campaign.valid_until <= campaign.valid_from:
        raise InvalidCampaign("valid_until must be after valid_from", field="valid_until")
    campaign.revision = _next_revision(session)
    campaign.updated_at = now
    session.flush()
    queries.forget_catalogue()
    return campaign


def set_offer(session: Session, *, campaign: CouponCampaign, offer: OfferIn, now: datetime) -> None:
    """Change what a (reward's) campaign gives."""
    campaign.offer_kind = offer.discount_kind
    campaign.amount_minor = offer.amount_minor
    campaign.percent = offer.percent
    campaign.max_discount_minor = offer.max_discount_minor
    campaign.product_sku = offer.product_sku
    campaign.min_spend_minor = offer.min_spend_minor
    campaign.skus = list(offer.skus)
    campaign.categories = list(offer.categories)
    campaign.revision = _next_revision(session)
    campaign.updated_at = now
    session.flush()
    queries.forget_catalogue()


def to_read(session: Session, campaign: CouponCampaign) -> CampaignRead:
    return CampaignRead(
        id=campaign.id,
        name=campaign.name,
        hashtag=campaign.hashtag,
        description=campaign.description,
        source=campaign.source,
        discount_kind=campaign.offer_kind,
        amount_minor=campaign.amount_minor,
        percent=campaign.percent,
        max_discount_minor=campaign.max_discount_minor,
        product_sku=campaign.product_sku,
        min_spend_minor=campaign.min_spend_minor,
        skus=campaign.skus,
        categories=campaign.categories,
        valid_from=campaign.valid_from,
        valid_until=campaign.valid_until,
        uses_per_code=campaign.uses_per_code,
        uses_per_member=campaign.uses_per_member,
        channels=campaign.channels,
        stores=campaign.stores,
        restore_on_return=campaign.restore_on_return,
        code_length=campaign.code_length,
        code_prefix=campaign.code_prefix,
        check_character=campaign.check_character,
        public_code=queries.public_code_of(session, campaign.id),
        possible_codes=codes.possible_codes(campaign.code_length),
        active=campaign.active,
        created_at=campaign.created_at,
    )


# ------------------------------------------------------------------ bulk generation


def generate(
    session: Session,
    *,
    campaign_id: int,
    key: str,
    count: int,
    now: datetime,
    chunk: int = CHUNK,
) -> CouponBatch:
    """Carry the batch ``key`` of ``count`` codes on by at most ``chunk`` codes. Call it again
    (a new transaction each time) until ``generated == requested``; calling it for a complete
    batch changes nothing, so a run that was stopped is simply run again."""
    campaign = queries.get_campaign(session, campaign_id)
    batch = queries.find_batch(session, campaign_id, key)
    if batch is None:
        batch = CouponBatch(
            campaign_id=campaign_id,
            key=key,
            requested=count,
            generated=0,
            created_at=now,
            updated_at=now,
        )
        session.add(batch)
        session.flush()
    elif batch.requested != count:
        raise BatchMismatch(
            f"batch {key!r} was started for {batch.requested} codes, not {count}", field="count"
        )
    todo = min(chunk, batch.requested - batch.generated)
    if todo > 0:
        write_codes(session, campaign=campaign, batch_id=batch.id, count=todo, now=now)
        batch.generated += todo
        batch.updated_at = now
        session.flush()
    return batch


def write_codes(
    session: Session, *, campaign: CouponCampaign, batch_id: int | None, count: int, now: datetime
) -> None:
    """Write ``count`` new unique codes: generated, repeats within the run dropped, and codes
    that exist already (anywhere in the club) skipped by the unique index and made up for."""
    db = Driver.of(session)
    at = db.time(now)
    written = 0
    seen: set[str] = set()
    while written < count:
        fresh = [
            code
            for code in codes.generate(
                count - written,
                length=campaign.code_length,
                prefix=campaign.code_prefix,
                check=campaign.check_character,
            )
            if code not in seen
        ]
        # in order: the unique index takes sorted keys in runs, not at random places (~15 %)
        fresh = sorted(set(fresh))
        seen.update(fresh)
        written += _insert_new(db, campaign.id, batch_id, fresh, at)


def _insert_new(
    db: Driver, campaign_id: int, batch_id: int | None, fresh: list[str], at: object
) -> int:
    """Insert the codes that do not exist yet; returns how many were inserted."""
    if db.sqlite:
        # SQLite: the codes as one JSON array, unpacked by json_each in one statement — about
        # twice as fast as executemany's bind-step-reset per row (bench/bench_coupons.py).
        # ("WHERE true" tells SQLite's parser that ON CONFLICT is the upsert, not a join's.)
        cursor = db.raw.cursor()
        try:
            cursor.execute(
                "INSERT INTO coupon_codes (campaign_id, code, public, batch_id, uses, held, "
                "issued_at) SELECT ?, value, 0, ?, 0, 0, ? FROM json_each(?) WHERE true "
                "ON CONFLICT (code) DO NOTHING",
                (campaign_id, batch_id, at, json.dumps(fresh)),
            )
            return int(cursor.rowcount)
        finally:
            cursor.close()
    # PostgreSQL: COPY into a scratch table, then one INSERT … SELECT that skips what exists
    db.execute(
        "CREATE TEMP TABLE IF NOT EXISTS coupon_codes_in (code varchar(32)) ON COMMIT DROP"
    ).close()
    db.execute("TRUNCATE coupon_codes_in").close()
    db.insert("coupon_codes_in", ("code",), [(code,) for code in fresh])
    cursor = db.execute(
        "INSERT INTO coupon_codes (campaign_id, code, public, batch_id, uses, held, issued_at) "
        "SELECT ?, code, false, ?, 0, 0, ? FROM coupon_codes_in ON CONFLICT (code) DO NOTHING",
        (campaign_id, batch_id, at),
    )
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def issue_code(
    session: Session,
    *,
    campaign_id: int,
    reference: str,
    now: datetime,
    member_id: int | None = None,
    amount_minor: int | None = None,
    expires_at: datetime | None = None,
) -> CouponCode:
    """One new code of the campaign, bound to ``member_id`` when given — what a reward, a
    challenge or a referral gives. Idempotent on ``reference`` (per campaign): issuing again
    gives back the same code."""
    existing = session.scalar(
        select(CouponCode).where(
            CouponCode.campaign_id == campaign_id, CouponCode.reference == reference
        )
    )
    if existing is not None:
        return existing
    campaign = queries.get_campaign(session, campaign_id)
    while True:
        (code,) = codes.generate(
            1,
            length=campaign.code_length,
            prefix=campaign.code_prefix,
            check=campaign.check_character,
        )
        if queries.code_row(session, code) is None:
            break
    row = CouponCode(
        campaign_id=campaign.id,
        code=code,
        public=False,
        member_id=member_id,
        reference=reference,
        amount_minor=amount_minor,
        uses=0,
        held=0,
        issued_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row


def disable_code(session: Session, *, code: str, now: datetime) -> CouponCode:
    row = queries.code_by_text(session, code)
    if row.disabled_at is None:
        row.disabled_at = now
        session.flush()
    return row
