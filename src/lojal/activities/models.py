"""Activity: purchases with line items, returns, and custom events. Append-only.

A purchase or event for an identity that is not yet a member keeps that identity
(``identity_kind``/``identity_value``) and a NULL ``member_id``; it is credited when the member
enrols.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import Amount, BigIntId, JSONType, UTCDateTime


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (
        Index("ix_purchases_member_id_occurred_at", "member_id", "occurred_at"),
        # only purchases waiting for their member to enrol
        Index(
            "ix_purchases_unmatched",
            "identity_kind",
            "identity_value",
            sqlite_where=text("member_id IS NULL"),
            postgresql_where=text("member_id IS NULL"),
        ),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), unique=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    identity_kind: Mapped[str | None] = mapped_column(String(12))
    identity_value: Mapped[str | None] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(10))
    store_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(Amount)
    points: Mapped[int] = mapped_column(Amount, default=0)
    # Points of the award not tied to a line (bonuses), clawed back only with the last line.
    order_points: Mapped[int] = mapped_column(Amount, default=0)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PurchaseLine(Base):
    __tablename__ = "purchase_lines"
    __table_args__ = (
        # Lines are read through their purchase (member_id is kept for distribution by member).
        Index("ix_purchase_lines_purchase_id", "purchase_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(Amount)
    total_minor: Mapped[int] = mapped_column(Amount)
    points: Mapped[int] = mapped_column(Amount, default=0)


class Return(Base):
    __tablename__ = "returns"
    __table_args__ = (Index("ix_returns_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    return_id: Mapped[str] = mapped_column(String(128), unique=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    total_minor: Mapped[int] = mapped_column(Amount)
    points_clawed_back: Mapped[int] = mapped_column(Amount, default=0)
    # Points the return should have taken back but could not (already spent or expired).
    points_unrecovered: Mapped[int] = mapped_column(Amount, default=0)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReturnLine(Base):
    __tablename__ = "return_lines"
    __table_args__ = (
        Index("ix_return_lines_return_id", "return_id"),
        Index("ix_return_lines_purchase_line_id", "purchase_line_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"))
    purchase_line_id: Mapped[int] = mapped_column(ForeignKey("purchase_lines.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(Amount)
    points: Mapped[int] = mapped_column(Amount)


class Event(Base):
    """Any other data point: ``email_opened``, ``survey_answered``, ``product_viewed``, ..."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_member_id_type_occurred_at", "member_id", "type", "occurred_at"),
        Index(
            "ix_events_unmatched",
            "identity_kind",
            "identity_value",
            sqlite_where=text("member_id IS NULL"),
            postgresql_where=text("member_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    identity_kind: Mapped[str | None] = mapped_column(String(12))
    identity_value: Mapped[str | None] = mapped_column(String(320))
    type: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(10))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    points: Mapped[int] = mapped_column(Amount, default=0)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
