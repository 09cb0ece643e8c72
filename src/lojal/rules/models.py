from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import Amount, BigIntId, UTCDateTime


class RuleAward(Base):
    """Points a capped rule gave a member, so that the next award knows what room is left."""

    __tablename__ = "rule_awards"
    __table_args__ = (
        Index("ix_rule_awards_member_id_rule_id_awarded_at", "member_id", "rule_id", "awarded_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    rule_id: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    points: Mapped[int] = mapped_column(Amount)
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime)
