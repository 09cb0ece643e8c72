"""The ledger's rows written many at a time, on the driver (``lojal.db.driver``).

``ledger.service.earn`` writes one earn entry through the ORM: about a dozen statements and
a few flushes, a few milliseconds. That is right for one staff grant or one API call, and far
too slow for rewards that come by the thousand in one transaction — challenge completions in an
import of a year's purchases were 80 % of that import's time. ``earn_many`` writes the same
rows for a whole list at once: one read of the keys already in the journal, then one insert
per table and one update of the balances: the rows built by ``ledger.rows`` (checked to
balance) and written by ``ledger.writer``, as the purchase path's are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from lojal.db.driver import Driver
from lojal.ledger import entries, writer
from lojal.ledger.errors import LedgerMismatch
from lojal.ledger.rows import Rows
from lojal.program.schemas import ProgramConfig


@dataclass(frozen=True, slots=True)
class Grant:
    """Points a member earns: what ``ledger.service.earn`` takes, as data."""

    member_id: int
    points: int
    key: str
    earned_at: datetime  # timezone-aware
    source: str
    explanation: str
    detail: Mapping[str, Any] | None = None


def earn_many(
    session: Session, grants: Sequence[Grant], *, now: datetime, config: ProgramConfig
) -> dict[str, int]:
    """Earn every grant, each as ``earn`` would (one entry, one lot, two postings, the
    balance), and return the entry id of each key. A key already in the journal — or given
    twice — is earned once: its entry's id is returned. The caller holds the members' locks
    (PostgreSQL: their balance rows, ``FOR UPDATE``; SQLite: the write lock)."""
    if not grants:
        return {}
    for grant in grants:
        entries.earn(grant.points)  # the same refusal of non-positive points as earn
    db = Driver.of(session)
    keys = list(dict.fromkeys(grant.key for grant in grants))
    ids: dict[str, int] = {
        str(key): int(entry_id)
        for key, entry_id in db.in_chunks(
            "SELECT key, id FROM journal_entries WHERE key IN ({})", keys
        )
    }
    fresh: list[Grant] = []
    seen = set(ids)
    for grant in grants:
        if grant.key not in seen:
            seen.add(grant.key)
            fresh.append(grant)
    if not fresh:
        return ids
    time = db.time
    now_db = time(now)
    pending_for = timedelta(days=config.pending_days)
    expiry = config.expiry
    built = Rows()
    for n, grant in enumerate(fresh):
        available_at = grant.earned_at + pending_for
        expires_at = entries.expiry_for(
            grant.earned_at,
            months=expiry.months,
            round_to_month_end=expiry.round_to_month_end,
            timezone=config.timezone,
        )
        earned_db = time(grant.earned_at)
        built.earn(
            entry_id=n,
            lot_id=n,
            member_id=grant.member_id,
            key=grant.key,
            points=grant.points,
            earned_at=earned_db,
            recorded_at=now_db,
            available_at=time(available_at),
            expires_at=None if expires_at is None else time(expires_at),
            pending=available_at > now,
            source=grant.source,
            explanation=grant.explanation,
            detail=db.json(dict(grant.detail or {})),
        )
    members = sorted(built.balances)
    have = {
        int(row[0])
        for row in db.in_chunks(
            "SELECT member_id FROM point_balances WHERE member_id IN ({})", members
        )
    }
    missing = [m for m in members if m not in have]
    if missing:
        raise LedgerMismatch(f"member {missing[0]} has no points account")
    for grant, entry_id in zip(fresh, writer.write(session, built, now=now), strict=True):
        ids[grant.key] = entry_id
    return ids
