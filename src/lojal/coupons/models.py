"""Coupon tables.

* ``coupon_campaigns``  what a coupon gives and when, where and how often it may be used, and
  the shape of its codes. ``revision`` changes with every change of any campaign: each server
  process keeps the campaigns in memory and reloads them when the highest revision moves.
* ``coupon_codes``      every code, generated or public, in normal form and unique across the
  club. ``uses`` counts committed redemptions, ``held`` live reservations; a use is taken by a
  conditional ``UPDATE … WHERE uses + held < limit`` so that the database decides who gets the
  last one.
* ``coupon_batches``    a bulk generation (``key`` per campaign): how many codes were asked for
  and how many are written, so that a run that stopped carries on where it was.
* ``coupon_redemptions`` a reservation for a basket and what became of it: redeemed on an
  order, released, expired, or restored after the order was returned.
* ``coupon_member_uses`` a member's uses (and holds) of a campaign, for the per-member limit.
* ``coupon_attempts``   wrong codes per caller (API key, client address), for the brute-force
  guard (``lojal.coupons.guard``).
* ``coupon_campaign_stats`` validations per campaign, added up in memory and written now and
  then (``lojal.coupons.guard.Tally``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lojal.coupons.discounts import OFFER_KINDS
from lojal.db.base import Base
from lojal.db.types import Amount, BigIntId, JSONType, UTCDateTime

CAMPAIGN_SOURCES = ("campaign", "reward")
REDEMPTION_STATES = ("reserved", "redeemed", "released", "expired", "restored")


class CouponCampaign(Base):
    __tablename__ = "coupon_campaigns"
    __table_args__ = (
        CheckConstraint(f"offer_kind IN {OFFER_KINDS!r}", name="offer_kind"),
        CheckConstraint(f"source IN {CAMPAIGN_SOURCES!r}", name="source"),
        CheckConstraint("uses_per_code IS NULL OR uses_per_code > 0", name="uses_per_code"),
        CheckConstraint("uses_per_member IS NULL OR uses_per_member > 0", name="uses_per_member"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    hashtag: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(1000))
    # "campaign": made by the marketer; "reward": owned by a reward of the catalogue
    source: Mapped[str] = mapped_column(String(10), default="campaign")
    offer_kind: Mapped[str] = mapped_column(String(10))
    amount_minor: Mapped[int | None] = mapped_column(Amount)
    percent: Mapped[int | None] = mapped_column(Integer)
    max_discount_minor: Mapped[int | None] = mapped_column(Amount)
    product_sku: Mapped[str | None] = mapped_column(String(64))
    min_spend_minor: Mapped[int | None] = mapped_column(Amount)
    skus: Mapped[list[str]] = mapped_column(JSONType, default=list)
    categories: Mapped[list[str]] = mapped_column(JSONType, default=list)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: unlimited; 1: single use
    uses_per_code: Mapped[int | None] = mapped_column(Integer)
    uses_per_member: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[list[str]] = mapped_column(JSONType, default=list)  # empty: every channel
    stores: Mapped[list[str]] = mapped_column(JSONType, default=list)  # empty: every store
    restore_on_return: Mapped[bool] = mapped_column(Boolean, default=False)
    code_length: Mapped[int] = mapped_column(Integer, default=10)
    code_prefix: Mapped[str] = mapped_column(String(12), default="")
    check_character: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    revision: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CouponBatch(Base):
    __tablename__ = "coupon_batches"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("coupon_campaigns.id"))
    key: Mapped[str] = mapped_column(String(100))
    requested: Mapped[int] = mapped_column(Integer)
    generated: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CouponCode(Base):
    __tablename__ = "coupon_codes"
    # Few indexes, and the ones on columns that bulk codes leave empty are partial: every index
    # costs each of a million generated codes an insert (docs/benchmarks.md). A batch's codes
    # are listed through the campaign's index (a batch's ids are contiguous runs).
    __table_args__ = (
        Index("ix_coupon_codes_campaign_id_id", "campaign_id", "id"),
        Index(
            "ix_coupon_codes_member_id",
            "member_id",
            sqlite_where=text("member_id IS NOT NULL"),
            postgresql_where=text("member_id IS NOT NULL"),
        ),
        Index(
            "ux_coupon_codes_campaign_id_reference",
            "campaign_id",
            "reference",
            unique=True,
            sqlite_where=text("reference IS NOT NULL"),
            postgresql_where=text("reference IS NOT NULL"),
        ),
        CheckConstraint("uses >= 0 AND held >= 0", name="uses_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("coupon_campaigns.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    # bound to one member (who alone may use it), or anyone's
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_batches.id"))
    # the natural key of a code issued to someone (a reward redemption, a challenge, ...)
    reference: Mapped[str | None] = mapped_column(String(200))
    # a value of this code alone (points turned into a coupon), instead of the campaign's
    amount_minor: Mapped[int | None] = mapped_column(Amount)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # sooner than the campaign's end (a reward's coupon is valid N days from issue)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CouponRedemption(Base):
    __tablename__ = "coupon_redemptions"
    __table_args__ = (
        UniqueConstraint("code_id", "reference"),
        UniqueConstraint("code_id", "order_id"),
        Index("ix_coupon_redemptions_order_id", "order_id"),
        Index("ix_coupon_redemptions_campaign_id_state", "campaign_id", "state"),
        Index("ix_coupon_redemptions_state_expires_at", "state", "expires_at"),
        CheckConstraint(f"state IN {REDEMPTION_STATES!r}", name="state"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("coupon_codes.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("coupon_campaigns.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    # the basket (or order) the code is held for; None for a commit without a reservation
    reference: Mapped[str | None] = mapped_column(String(128))
    order_id: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(10))
    discount_minor: Mapped[int] = mapped_column(Amount)
    basket_total_minor: Mapped[int] = mapped_column(Amount)
    channel: Mapped[str | None] = mapped_column(String(10))
    store_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # of the reservation
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # released/expired/restored


class CouponMemberUse(Base):
    __tablename__ = "coupon_member_uses"
    __table_args__ = (CheckConstraint("uses >= 0 AND held >= 0", name="uses_not_negative"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("coupon_campaigns.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)


class CouponAttempt(Base):
    """Wrong codes of one caller (``key:<api key id>`` or ``addr:<client address>``)."""

    __tablename__ = "coupon_attempts"

    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CouponCampaignStats(Base):
    __tablename__ = "coupon_campaign_stats"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("coupon_campaigns.id"), primary_key=True)
    validations: Mapped[int] = mapped_column(Amount, default=0)
