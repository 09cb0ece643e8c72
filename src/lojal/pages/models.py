"""The web's tables: staff accounts, their sign-in attempts and sessions, and the member
portal's one-time links and sessions.

Secrets are never stored: a session's or a link's row holds the SHA-256 of the random token
that the cookie or the emailed link carries, and a password is stored as an Argon2id hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import BigIntId, UTCDateTime
from lojal.pages.roles import ROLES


class StaffUser(Base):
    """A person who runs the club: signs in to the admin pages with an email and a password."""

    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffSession(Base):
    """A signed-in browser. Signing out (or removing the user) deletes the row, so the cookie
    is worthless from the next request on."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    address: Mapped[str] = mapped_column(String(64))


class SignInAttempt(Base):
    """Every password sign-in, kept for the lock-out window: failures per account and per
    address lock out whoever keeps guessing, in every server process alike."""

    __tablename__ = "staff_sign_in_attempts"
    __table_args__ = (
        Index("ix_staff_sign_in_attempts_email_at", "email", "at"),
        Index("ix_staff_sign_in_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool]
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class PortalLink(Base):
    """A one-time sign-in link emailed to a member: single use, short-lived, bound to the
    member it was sent to."""

    __tablename__ = "member_portal_links"
    __table_args__ = (Index("ix_member_portal_links_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PortalSession(Base):
    """A member signed in to the portal (through a link)."""

    __tablename__ = "member_portal_sessions"
    __table_args__ = (Index("ix_member_portal_sessions_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
