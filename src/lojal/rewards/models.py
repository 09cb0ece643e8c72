"""Rewards tables.

* ``rewards``             the catalogue: kind, price in points, window, stock, tiers, and the
  coupon campaign (``source = reward``) whose codes a coupon, product or points-as-payment
  reward issues.
* ``reward_redemptions``  one per redemption, unique on its natural ``key``; it names the
  journal entry that spent the points and what was given (a coupon code, a partner code).
* ``partner_codes``       a partner reward's pool of imported codes; a code is given out once
  (``redemption_id``).
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

from lojal.db.base import Base
from lojal.db.types import Amount, BigIntId, JSONType, UTCDateTime

REWARD_KINDS = ("coupon", "product", "partner", "experience", "points_payment")


class Reward(Base):
    __tablename__ = "rewards"
    __table_args__ = (
        CheckConstraint(f"kind IN {REWARD_KINDS!r}", name="kind"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        CheckConstraint("points_price IS NULL OR points_price > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(16))
    # None only for points_payment, whose price is what the member chooses to pay
    points_price: Mapped[int | None] = mapped_column(Amount)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stock: Mapped[int | None] = mapped_column(Integer)  # units left; None: unlimited
    tiers: Mapped[list[str]] = mapped_column(JSONType, default=list)  # empty: every member
    limit_per_member: Mapped[int | None] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_campaigns.id"))
    coupon_valid_days: Mapped[int | None] = mapped_column(Integer)
    min_points: Mapped[int | None] = mapped_column(Amount)
    max_points: Mapped[int | None] = mapped_column(Amount)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RewardRedemption(Base):
    __tablename__ = "reward_redemptions"
    __table_args__ = (Index("ix_reward_redemptions_member_id_reward_id", "member_id", "reward_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    # natural idempotency key: reward:<member>:ref:<reference> (or :key:<Idempotency-Key>)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    points: Mapped[int] = mapped_column(Amount)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    coupon_code_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_codes.id"))
    amount_minor: Mapped[int | None] = mapped_column(Amount)  # points as payment: the value
    channel: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PartnerCode(Base):
    __tablename__ = "partner_codes"
    __table_args__ = (
        UniqueConstraint("reward_id", "code"),
        # the pool's codes still to give out, in import order
        Index(
            "ix_partner_codes_free",
            "reward_id",
            "id",
            sqlite_where=text("redemption_id IS NULL"),
            postgresql_where=text("redemption_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    code: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    redemption_id: Mapped[int | None] = mapped_column(
        ForeignKey("reward_redemptions.id"), unique=True
    )
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
