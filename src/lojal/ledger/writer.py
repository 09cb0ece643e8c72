"""Writing many entries at once, on the driver (``lojal.db.driver``): the rows ``ledger.rows``
built — and checked — for a batch, one multi-row insert per table and one update of the
balances, in the session's transaction.

The ORM's unit of work costs a few milliseconds per entry; a batch of purchases or of
challenge rewards writes thousands. Only ``ledger/`` writes the ledger's tables: the purchase
path (``activities.bulk``) and ``ledger.bulk.earn_many`` hand their rows here.

The caller holds the members' locks (PostgreSQL: their balance rows, ``FOR UPDATE``; SQLite:
the write lock).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lojal.db.driver import Driver
from lojal.ledger.rows import ENTRY_COLUMNS, LOT_COLUMNS, POSTING_COLUMNS, Rows

_BALANCES = (
    "UPDATE point_balances SET pending = pending + ?, available = available + ?, "
    "lifetime_earned = lifetime_earned + ?, lifetime_spent = lifetime_spent + ?, "
    "lifetime_expired = lifetime_expired + ?, updated_at = ? WHERE member_id = ?"
)


def write(
    session: Session,
    rows: Rows,
    *,
    now: datetime,
    key_of: Callable[[Any], str] | None = None,
) -> list[int]:
    """Insert ``rows`` (entries and lots with ids relative to the batch: 0, 1, ...) and add
    their changes to the balances. ``key_of`` turns each entry's key as built into the key
    stored (the purchase path builds its entries before the purchases have ids). Returns the
    entry ids taken, in the order of ``rows.entries``."""
    if rows.lot_changes:
        raise ValueError("the bulk writer opens lots; it does not take from existing ones")
    db = Driver.of(session)
    ids = db.new_ids({"journal_entries": len(rows.entries), "point_lots": len(rows.lots)})
    eid, tid = ids["journal_entries"], ids["point_lots"]
    if key_of is None:
        entry_rows = [(eid[r[0]], *r[1:]) for r in rows.entries]
    else:
        entry_rows = [(eid[r[0]], r[1], r[2], key_of(r[3]), *r[4:]) for r in rows.entries]
    db.insert("journal_entries", ENTRY_COLUMNS, entry_rows)
    db.insert("point_lots", LOT_COLUMNS, [(tid[r[0]], r[1], eid[r[2]], *r[3:]) for r in rows.lots])
    db.insert(
        "postings",
        POSTING_COLUMNS,
        [(eid[r[0]], r[1], r[2], r[3], tid[r[4]] if r[5] else r[4]) for r in rows.postings],
    )
    if rows.balances:
        now_db = db.time(now)
        db.many(
            _BALANCES,
            [(*figures, now_db, member_id) for member_id, figures in sorted(rows.balances.items())],
        )
    # The ORM must not serve rows it holds from before these writes.
    session.expire_all()
    return eid


def lock_balances(db: Driver, member_ids: Sequence[int]) -> None:
    """PostgreSQL: lock these members' balance rows, in member order, for the rest of the
    transaction (``FOR UPDATE``) — the lock every writer of a member's points takes first.
    SQLite's write transaction already excludes every other writer."""
    if db.sqlite or not member_ids:
        return
    for _ in db.in_chunks(
        "SELECT member_id FROM point_balances WHERE member_id IN ({}) ORDER BY member_id "
        "FOR UPDATE",
        sorted(member_ids),
    ):
        pass
