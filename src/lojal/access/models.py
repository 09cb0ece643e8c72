"""A member app's sign-in: one-time codes sent by email, and the member sessions they open.

Secrets are never stored: a code's row holds a peppered SHA-256 of the six digits, a session's
row the hash of its token's secret (``lojal.staff.service`` hashes both)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import BigIntId, UTCDateTime


class SignInCode(Base):
    """A one-time code emailed to a member who signs in to an app (the app's publishable key)."""

    __tablename__ = "member_sign_in_codes"
    __table_args__ = (Index("ix_member_sign_in_codes_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MemberSession(Base):
    """A member signed in to an app: its token (``lojalm_<prefix>_<secret>``) reaches that
    member's own data only, until it expires or is signed out, or the app's key is revoked."""

    __tablename__ = "member_sessions"
    __table_args__ = (Index("ix_member_sessions_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
