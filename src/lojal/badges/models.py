"""Badges the marketer defines, and the badges members hold.

A member holds a badge once (``member_badges`` is unique per member and badge); earning it
again — a repeatable challenge completed again — counts up ``times``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import BigIntId, UTCDateTime


class Badge(Base):
    __tablename__ = "badges"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MemberBadge(Base):
    __tablename__ = "member_badges"
    __table_args__ = (UniqueConstraint("member_id", "badge_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    badge_id: Mapped[int] = mapped_column(ForeignKey("badges.id"))
    times: Mapped[int] = mapped_column(Integer)
    first_earned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_earned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # How it was last earned: challenge:<code>, or staff:<API key name> for a grant
    source: Mapped[str] = mapped_column(String(200))
