"""The ledger's rows written many at a time, on the driver (``lojal.db.driver``).

``ledger.service.earn`` writes one earn entry through the ORM: about a dozen statements and
a few flushes, a few milliseconds. That is right for one staff grant or one API call, and far
too slow for rewards that come by the thousand in one transaction — challenge completions in an
import of a year's purchases were 80 % of that import's time. ``earn_many`` writes the same
rows for a whole list at once: one read of the keys already in the journal, then one insert
per table and one update of the balances. The bulk purchase path (``activities.bulk``) writes
its entries with the same columns and the same ids (``new_ids``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from lojal.db.driver import Driver
from lojal.ledger import entries
from lojal.ledger.errors import LedgerMismatch
from lojal.program.schemas import ProgramConfig

ENTRY_COLUMNS = (
    "id",
    "member_id",
    "kind",
    "key",
    "effective_at",
    "recorded_at",
    "points",
    "explanation",
    "detail",
)
LOT_COLUMNS = (
    "id",
    "member_id",
    "entry_id",
    "points",
    "remaining",
    "state",
    "earned_at",
    "available_at",
    "expires_at",
    "source",
)
POSTING_COLUMNS = ("entry_id", "member_id", "account", "amount", "lot_id")


def new_ids(db: Driver, counts: Mapping[str, int]) -> dict[str, list[int]]:
    """Ids for the rows about to be inserted, per table. SQLite: after max(id), safe because
    the write transaction (BEGIN IMMEDIATE) excludes other writers. PostgreSQL: from each
    table's sequence."""
    tables = list(counts)
    if db.sqlite:
        row = db.one(
            "SELECT " + ", ".join(f"(SELECT COALESCE(MAX(id), 0) FROM {table})" for table in tables)
        )
        return {
            table: list(range(int(start) + 1, int(start) + 1 + counts[table]))
            for table, start in zip(tables, row, strict=True)
        }
    return {
        table: [
            int(r[0])
            for r in db.all(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                "FROM generate_series(1, ?)",
                (counts[table],),
            )
        ]
        if counts[table]
        else []
        for table in tables
    }


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
    made = new_ids(db, {"journal_entries": len(fresh), "point_lots": len(fresh)})
    time = db.time
    now_db = time(now)
    pending_for = timedelta(days=config.pending_days)
    expiry = config.expiry
    entry_rows: list[tuple[Any, ...]] = []
    lot_rows: list[tuple[Any, ...]] = []
    posting_rows: list[tuple[Any, ...]] = []
    balance: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for grant, entry_id, lot_id in zip(
        fresh, made["journal_entries"], made["point_lots"], strict=True
    ):
        available_at = grant.earned_at + pending_for
        pending = available_at > now
        expires_at = entries.expiry_for(
            grant.earned_at,
            months=expiry.months,
            round_to_month_end=expiry.round_to_month_end,
            timezone=config.timezone,
        )
        earned_db = time(grant.earned_at)
        entry_rows.append(
            (
                entry_id,
                grant.member_id,
                "earn",
                grant.key,
                earned_db,
                now_db,
                grant.points,
                grant.explanation[:1000],
                db.json(dict(grant.detail or {})),
            )
        )
        lot_rows.append(
            (
                lot_id,
                grant.member_id,
                entry_id,
                grant.points,
                grant.points,
                "pending" if pending else "available",
                earned_db,
                time(available_at),
                None if expires_at is None else time(expires_at),
                grant.source[:200],
            )
        )
        account = entries.MEMBER_PENDING if pending else entries.MEMBER_AVAILABLE
        posting_rows.append((entry_id, grant.member_id, account, grant.points, lot_id))
        posting_rows.append(
            (entry_id, grant.member_id, entries.PROGRAM_ISSUED, -grant.points, None)
        )
        balance[grant.member_id][0 if pending else 1] += grant.points
        ids[grant.key] = entry_id
    members = sorted(balance)
    have = {
        int(row[0])
        for row in db.in_chunks(
            "SELECT member_id FROM point_balances WHERE member_id IN ({})", members
        )
    }
    missing = [m for m in members if m not in have]
    if missing:
        raise LedgerMismatch(f"member {missing[0]} has no points account")
    db.insert("journal_entries", ENTRY_COLUMNS, entry_rows)
    db.insert("point_lots", LOT_COLUMNS, lot_rows)
    db.insert("postings", POSTING_COLUMNS, posting_rows)
    db.many(
        "UPDATE point_balances SET pending = pending + ?, available = available + ?, "
        "lifetime_earned = lifetime_earned + ?, updated_at = ? WHERE member_id = ?",
        [(p, a, p + a, now_db, member_id) for member_id, (p, a) in sorted(balance.items())],
    )
    # The ORM must not serve rows it holds from before these writes.
    session.expire_all()
    return ids
