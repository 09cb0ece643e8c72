from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import Amount, BigIntId, JSONType, UTCDateTime
from lojal.ledger.entries import ACCOUNTS, ENTRY_KINDS, LOT_STATES


class JournalEntry(Base):
    """One business event in points. Its postings sum to zero."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("ix_journal_entries_member_id_id", "member_id", "id"),
        # a member's spends of the last day (the fraud guards' spend limits); partial: the
        # purchase path's earn entries never pay for it
        Index(
            "ix_journal_entries_member_id_recorded_at_spends",
            "member_id",
            "recorded_at",
            sqlite_where=text("kind = 'spend'"),
            postgresql_where=text("kind = 'spend'"),
        ),
        CheckConstraint(f"kind IN {ENTRY_KINDS!r}", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(12))
    # Natural idempotency key: "purchase:<order id>", "spend:<key>", "activate:<lot id>", ...
    key: Mapped[str] = mapped_column(String(200), unique=True)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    points: Mapped[int] = mapped_column(Amount)
    explanation: Mapped[str] = mapped_column(String(1000), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Posting(Base):
    """One leg of an entry: ``amount`` points to ``account``. See ``lojal.ledger.entries``."""

    __tablename__ = "postings"
    __table_args__ = (
        Index("ix_postings_entry_id", "entry_id"),
        Index("ix_postings_member_id_account", "member_id", "account"),
        CheckConstraint(f"account IN {ACCOUNTS!r}", name="account"),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    account: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(Amount)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("point_lots.id"))


class PointLot(Base):
    """Points earned together: they become available together and expire together.

    ``remaining`` is a projection of the postings that name the lot (kept in the same
    transaction and checked by ``lojal.ledger.queries.verify``)."""

    __tablename__ = "point_lots"
    __table_args__ = (
        Index("ix_point_lots_member_id_state", "member_id", "state"),
        Index("ix_point_lots_state_available_at", "state", "available_at"),
        Index("ix_point_lots_state_expires_at", "state", "expires_at"),
        CheckConstraint(f"state IN {LOT_STATES!r}", name="state"),
        CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_in_range"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    points: Mapped[int] = mapped_column(Amount)
    remaining: Mapped[int] = mapped_column(Amount)
    state: Mapped[str] = mapped_column(String(10))
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(200))


class PointBalance(Base):
    """A member's balances: a cache of the sums of their postings, updated in the same
    transaction. The checks make a negative balance impossible at the database level."""

    __tablename__ = "point_balances"
    __table_args__ = (
        CheckConstraint("pending >= 0", name="pending_not_negative"),
        CheckConstraint("available >= 0", name="available_not_negative"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    pending: Mapped[int] = mapped_column(Amount, default=0)
    available: Mapped[int] = mapped_column(Amount, default=0)
    lifetime_earned: Mapped[int] = mapped_column(Amount, default=0)
    lifetime_spent: Mapped[int] = mapped_column(Amount, default=0)
    lifetime_expired: Mapped[int] = mapped_column(Amount, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerMonth(Base):
    """A figure of a closed month for the IFRS 15 reader (``lojal.ledger.liability``), written by
    the worker's ``ledger_months`` job: the points of a cohort (``cohort``: the month its lots
    were earned in) that were issued, merged, redeemed, expired or taken back in ``month``, or
    (``measure`` "sales", no cohort) the members' purchases of ``month`` in minor units.
    Programme-wide, not member-scoped."""

    __tablename__ = "ledger_months"
    __table_args__ = (
        CheckConstraint(
            "measure IN ('issued', 'merged', 'redeemed', 'expired', 'taken_back', 'sales')",
            name="measure",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    measure: Mapped[str] = mapped_column(String(12))
    cohort: Mapped[date | None] = mapped_column(Date)
    month: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(Amount)


class LedgerMonthMark(Base):
    """How far the stored ``LedgerMonth`` rows reach (one row, id 1): every month before
    ``closed_before``, read in ``timezone`` and ``currency``, over the entries, lots and
    purchases up to the ids named here. Anything later is read live."""

    __tablename__ = "ledger_month_marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    closed_before: Mapped[date] = mapped_column(Date)
    first_month: Mapped[date | None] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    entry_id: Mapped[int] = mapped_column(BigInteger)
    lot_id: Mapped[int] = mapped_column(BigInteger)
    purchase_id: Mapped[int] = mapped_column(BigInteger)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
