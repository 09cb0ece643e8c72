from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import JSONType, UTCDateTime


class Program(Base):
    """The club's configuration. One club per database: a single row with id 1.

    ``config`` holds the validated ``ProgramConfig`` as JSON; ``source`` keeps the text that was
    applied (YAML or JSON) so that ``lojal program show`` gives back what the marketer wrote.
    """

    __tablename__ = "programs"
    __table_args__ = (CheckConstraint("id = 1", name="single_program"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    source: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProgramVersion(Base):
    """Every programme ever applied, with who applied it (``programs`` holds the current one)."""

    __tablename__ = "program_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    source: Mapped[str] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied_by: Mapped[str] = mapped_column(String(200))
