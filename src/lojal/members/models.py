from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lojal.db.base import Base
from lojal.db.types import BigIntId, JSONType, UTCDateTime

CHANNELS = ("store", "web", "app", "api", "import")
IDENTITY_KINDS = ("email", "phone", "card", "external_id")
# A consent is per channel of contact, and one purpose that is not a channel: ``ads``, the
# member's consent to be matched, hashed, in the club's advertising audiences (lojal.audiences).
CONSENT_CHANNELS = ("email", "sms", "push", "ads")
MEMBER_STATUSES = ("active", "closed", "merged")


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(f"status IN {MEMBER_STATUSES!r}", name="status"),
        CheckConstraint(f"enrolment_channel IN {CHANNELS!r}", name="enrolment_channel"),
        # the members merged into one (a tier counts their points); partial: members who were
        # never merged cost it nothing
        Index(
            "ix_members_merged_into_id",
            "merged_into_id",
            sqlite_where=text("merged_into_id IS NOT NULL"),
            postgresql_where=text("merged_into_id IS NOT NULL"),
        ),
        # enrolments from one address in a day (partial: members enrolled without one, the
        # imported and the command line's, cost it nothing)
        Index(
            "ix_members_enrolment_address_enrolled_at",
            "enrolment_address",
            "enrolled_at",
            sqlite_where=text("enrolment_address IS NOT NULL"),
            postgresql_where=text("enrolment_address IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    enrolment_channel: Mapped[str] = mapped_column(String(10))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    locale: Mapped[str | None] = mapped_column(String(10))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    store_id: Mapped[str | None] = mapped_column(String(64))
    # The member's current tier (its code in the programme), kept by the tiers feature; the
    # earning rules read it as member.tier.
    tier: Mapped[str | None] = mapped_column(String(32))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The client address the API saw at enrolment (personal data: erasure removes it), for
    # the alert on many enrolments from one address (lojal.fraud.guards).
    enrolment_address: Mapped[str | None] = mapped_column(String(64))
    # When an email or phone last changed after enrolment: spending waits for
    # fraud.identity_hold_hours after it (lojal.fraud.guards).
    identity_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    identities: Mapped[list[MemberIdentity]] = relationship(
        back_populates="member", order_by="MemberIdentity.id", lazy="selectin"
    )

    def identity(self, kind: str) -> str | None:
        """The member's first identity of a kind (the one shown as *the* email, phone, ...)."""
        for identity in self.identities:
            if identity.kind == kind:
                return identity.value
        return None


class MemberIdentity(Base):
    """A normalised way to recognise a member: email (lower-case), phone (E.164), card number or
    the web shop's customer id. Unique across the club; a member may have several of a kind."""

    __tablename__ = "member_identities"
    __table_args__ = (
        UniqueConstraint("kind", "value"),
        CheckConstraint(f"kind IN {IDENTITY_KINDS!r}", name="kind"),
        Index("ix_member_identities_member_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(12))
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    member: Mapped[Member] = relationship(back_populates="identities")


class Consent(Base):
    """Append-only consent history; a member's current consent per channel is the latest row."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(f"channel IN {CONSENT_CHANNELS!r}", name="channel"),
        Index("ix_consents_member_id_channel", "member_id", "channel", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    channel: Mapped[str] = mapped_column(String(10))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
