"""Segments and who is in them.

A *segment* is a named group of members: **dynamic** (a definition, ``segments.definition``,
decides who is in it, kept up to date as activity arrives and by the sweep) or **static** (a
list of members, imported from a file of identities). ``segment_memberships`` is both the
current membership and its history: one row per time a member entered a segment, with
``left_at`` set when they left; the rows with ``left_at IS NULL`` are the members now (a
partial unique index keeps one per member and segment).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import BigIntId, JSONType, UTCDateTime

KINDS = ("dynamic", "static")


class Segment(Base):
    __tablename__ = "segments"
    __table_args__ = (CheckConstraint(f"kind IN {KINDS!r}", name="kind"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(10))
    # The definition as given (JSON), None for a static list.
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # What the definition reads (``definition.reads``): which activity re-evaluates it.
    reads: Mapped[list[str]] = mapped_column(JSONType, default=list)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # When the whole segment was last evaluated (saved, or swept).
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentMembership(Base):
    __tablename__ = "segment_memberships"
    __table_args__ = (
        Index(
            "ix_segment_memberships_current",
            "segment_id",
            "member_id",
            unique=True,
            sqlite_where=text("left_at IS NULL"),
            postgresql_where=text("left_at IS NULL"),
        ),
        Index("ix_segment_memberships_member_id", "member_id", "segment_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
