"""A member's tier state and its history.

``members.tier`` is the tier the member *has* (the rules read it as ``member.tier``): the higher
of the tier they qualified for and the tier a paid membership gives. ``member_tiers`` keeps
both, and when the qualified tier is reviewed next; ``tier_changes`` is the history of
``members.tier``, one row per change, each also recorded as a ``tier_changed`` event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import BigIntId, JSONType, UTCDateTime
from lojal.tiers.schemas import REASONS


class MemberTier(Base):
    __tablename__ = "member_tiers"
    __table_args__ = (Index("ix_member_tiers_review_at", "review_at"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    # The tier earned by qualification (or given by staff), and since when (its period's start).
    qualified_tier: Mapped[str | None] = mapped_column(String(32))
    qualified_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When `lojal jobs run` next reviews the qualified tier: the end of its period, or of the
    # grace period (in_grace). None: nothing to review (no tier, or the tier everyone has).
    review_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    in_grace: Mapped[bool] = mapped_column(Boolean, default=False)
    # In grace: the tier the member falls to if they do not requalify by review_at.
    grace_to: Mapped[str | None] = mapped_column(String(32))
    # The tier an active paid membership gives (lojal.memberships), and its renewal date.
    paid_tier: Mapped[str | None] = mapped_column(String(32))
    paid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TierChange(Base):
    """One change of ``members.tier``. Append-only."""

    __tablename__ = "tier_changes"
    __table_args__ = (
        Index("ix_tier_changes_member_id_id", "member_id", "id"),
        CheckConstraint(f"reason IN {REASONS!r}", name="reason"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    from_tier: Mapped[str | None] = mapped_column(String(32))
    to_tier: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(20))
    # When it took effect (a review's date, even when the job ran later) and was recorded.
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What decided it: the qualifying total and window, the staff member and their reason, ...
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
