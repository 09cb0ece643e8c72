"""Referral tables: each member's code, and one row per referral (at most one per referee).

``referrals.status`` moves only forward::

    pending ──(first qualifying purchase)──> qualified ──(return window passed)──> rewarded
       │                                        │  └──(returned inside the window)──> voided
       └──> refused (at linking, or when the     └──> capped (the advocate's cap was full)
            guards fail at the purchase)

``advocate_points``/``referee_points`` are the points actually earned so far (0 before the
rewards exist and for a side whose member is no longer active).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import Amount, BigIntId, UTCDateTime
from lojal.referrals.schemas import STATUSES

SOURCES = ("enrolment", "claim")


class ReferralCode(Base):
    __tablename__ = "referral_codes"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("referee_id"),
        Index("ix_referrals_advocate_id_status", "advocate_id", "status"),
        Index("ix_referrals_status_matures_at", "status", "matures_at"),
        Index("ix_referrals_qualifying_purchase_id", "qualifying_purchase_id"),
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        CheckConstraint(f"source IN {SOURCES!r}", name="source"),
        CheckConstraint("advocate_points >= 0 AND referee_points >= 0", name="points"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    referee_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    code: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(32))
    # When the link was made: the enrolment's time, or the claim's.
    referred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    qualifying_purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"))
    qualifying_order_id: Mapped[str | None] = mapped_column(String(128))
    qualified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    matures_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rewarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    advocate_points: Mapped[int] = mapped_column(Amount, default=0)
    referee_points: Mapped[int] = mapped_column(Amount, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
