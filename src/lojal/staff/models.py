"""API keys and the access revision.

An ``ApiKey`` is a bearer key of one *kind* (``lojal.staff.service`` says what each may do).
Only a peppered SHA-256 of its secret is stored; a rotated key keeps the previous secret's hash
until ``previous_valid_until`` so that clients can switch over without an outage.

``AccessRevision`` is one row whose ``revision`` goes up with every change that can take access
away (a key revoked, rotated or expired early; a member session signed out). Each server process
keeps the keys it has checked in memory and reads only this number on a request: when it has
moved, the process forgets what it holds and checks again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import BigIntId, UTCDateTime

KINDS = ("admin", "integration", "till", "app")


class ApiKey(Base):
    """A bearer key for the API. Only a peppered SHA-256 of the secret is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS!r}", name="kind"),
        # a till key is bound to one store, and only a till key is
        CheckConstraint("(kind = 'till') = (store_id IS NOT NULL)", name="till_store"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the secret before the last rotation, accepted until previous_valid_until
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64))
    previous_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessRevision(Base):
    """One row (id 1): the number every server process compares with what it holds."""

    __tablename__ = "access_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
