from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import BigIntId, JSONType, UTCDateTime


class AuditRecord(Base):
    """One change, append-only (database triggers refuse UPDATE and DELETE, except the erasure of
    a person's values: ``redacted_at`` set, ``before`` and ``after`` emptied, nothing else)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),
        Index("ix_audit_log_about_member_id", "about_member_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # who: "key:<id> <name>" (an API key), "cli:<user>" (a command), "system" (a job)
    actor: Mapped[str] = mapped_column(String(200))
    # what: created / changed / deleted, or a domain verb (points.adjusted, member.erased, ...)
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    # the member the change is about, when there is one (erasure redacts by it); no foreign
    # key: the record outlives what it describes
    about_member_id: Mapped[int | None] = mapped_column(BigIntId)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
