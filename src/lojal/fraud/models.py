from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import BigIntId, JSONType, UTCDateTime
from lojal.fraud.schemas import ALERT_KINDS


class FraudAlert(Base):
    """An unusual pattern for staff to look at. ``key`` names what it is about (one alert per
    purchase, adjustment, address and day, ring), so a check that runs twice raises it once."""

    __tablename__ = "fraud_alerts"
    __table_args__ = (
        Index("ix_fraud_alerts_member_id", "member_id"),
        CheckConstraint(f"kind IN {ALERT_KINDS!r}", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
