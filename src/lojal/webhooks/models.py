from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import BigIntId, JSONType, UTCDateTime


class WebhookEndpoint(Base):
    """Where the club's events are posted. ``secrets`` sign every message, newest first (more
    than one while a secret is rotated); ``event_types`` empty means every type. A receiver
    that answers 410 Gone turns the endpoint off (``active`` false, ``disabled_reason``)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    secrets: Mapped[list[str]] = mapped_column(JSONType)
    event_types: Mapped[list[str]] = mapped_column(JSONType)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
