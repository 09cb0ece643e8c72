"""Paid membership: plans, members' memberships, and the fees as revenue records.

A *plan* is what a member can pay for: a price per year or month, and what it gives — a tier
(a paid top tier) or only the paid club itself. A *membership* is one member's subscription to
a plan, from its first payment until it ends; every payment (a *revenue record*, kind
``membership_fee``) pays one more interval and moves the renewal date. At most one membership
per member is active at a time (a partial unique index says so on both databases).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import Amount, BigIntId, JSONType, UTCDateTime

INTERVALS = ("year", "month")
PLAN_STATUSES = ("active", "retired")
MEMBERSHIP_STATUSES = ("active", "ended")
END_REASONS = ("lapsed", "cancelled")
REVENUE_KINDS = ("membership_fee",)


class MembershipPlan(Base):
    __tablename__ = "membership_plans"
    __table_args__ = (
        CheckConstraint(f"interval IN {INTERVALS!r}", name="interval"),
        CheckConstraint(f"status IN {PLAN_STATUSES!r}", name="status"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(1000))
    price_minor: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(5))
    # The tier a member on this plan has at least (a code of the programme's tiers); None: the
    # plan gives the paid club membership only.
    tier: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(f"status IN {MEMBERSHIP_STATUSES!r}", name="status"),
        CheckConstraint(f"end_reason IS NULL OR end_reason IN {END_REASONS!r}", name="end_reason"),
        Index("ix_memberships_member_id_id", "member_id", "id"),
        # one active membership per member
        Index(
            "ix_memberships_active_member_id",
            "member_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        # the job finds the active memberships whose paid period is over
        Index("ix_memberships_status_renews_at", "status", "renews_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("membership_plans.id"))
    status: Mapped[str] = mapped_column(String(10), default="active")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Intervals paid so far: the renewal date is ``started_at`` + that many intervals (on the
    # club's calendar, so monthly renewals do not drift after a short month).
    periods: Mapped[int] = mapped_column(Integer)
    renews_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Cancelled memberships stay active until renews_at, and then end.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RevenueRecord(Base):
    """Money the club received, for the KPIs: one row per payment, never changed. The payment
    reference (the shop's own) is the natural key: recording it again changes nothing."""

    __tablename__ = "revenue_records"
    __table_args__ = (
        UniqueConstraint("kind", "reference"),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in REVENUE_KINDS)})", name="kind"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        Index("ix_revenue_records_member_id", "member_id"),
        Index("ix_revenue_records_occurred_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(128))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("membership_plans.id"))
    membership_id: Mapped[int | None] = mapped_column(ForeignKey("memberships.id"))
    amount_minor: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The paid period this fee covers.
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
