"""The storage limit for ``bench_import``: insert the purchases of a CSV (import format) and their
lines into ``purchases`` and ``purchase_lines`` with the raw DBAPI cursor's ``executemany``,
``BATCH`` purchases per transaction. No rules, no ledger, no validation beyond parsing.

    python -m bench.baseline_insert DATABASE_URL FILE.csv [BATCH] [--ledger]

With ``--ledger`` it also writes, per purchase, every other row the import writes — a journal
entry, a point lot, two postings (1 point per currency unit, no rules) — and the members'
balance updates per batch: the storage cost of the import's whole output.

The connection comes from lojal's own engine (``engine.raw_connection()``), so SQLite has the
same pragmas as lojal (WAL, synchronous=NORMAL, foreign keys on) and the same ``BEGIN
IMMEDIATE``. E-mails are resolved to member ids from one dict loaded up front; ids are assigned
here (max(id)+1 onwards).
"""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter

from lojal.db.driver import sqlite_time as sqlite_datetime
from lojal.db.engine import make_engine


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    ledger = "--ledger" in sys.argv
    url, path = args[0], args[1]
    batch = int(args[2]) if len(args) > 2 else 5000
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    raw = engine.raw_connection()
    dbapi = raw.driver_connection
    assert dbapi is not None
    cur = dbapi.cursor()
    p = "?" if sqlite else "%s"
    if sqlite:
        cur.execute("BEGIN")
    cur.execute("SELECT value, member_id FROM member_identities WHERE kind = 'email'")
    members = dict(cur.fetchall())
    cur.execute("SELECT coalesce(max(id), 0) FROM purchases")
    next_pid = int(cur.fetchone()[0]) + 1
    cur.execute("SELECT coalesce(max(id), 0) FROM purchase_lines")
    next_lid = int(cur.fetchone()[0]) + 1
    cur.execute("SELECT coalesce(max(id), 0) FROM journal_entries")
    next_eid = int(cur.fetchone()[0]) + 1
    cur.execute("SELECT coalesce(max(id), 0) FROM point_lots")
    next_lot = int(cur.fetchone()[0]) + 1
    dbapi.commit() if not sqlite else cur.execute("COMMIT")

    now = datetime.now(UTC)
    now_v = sqlite_datetime(now) if sqlite else now
    json_v = "{}"
    purchase_sql = (
        "INSERT INTO purchases (id, order_id, member_id, identity_kind, identity_value, channel,"
        " store_id, occurred_at, currency, total_minor, points, order_points, attributes,"
        f" recorded_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, 0, 0, "
        f"{p if sqlite else p + '::jsonb'}, {p})"
    )
    line_sql = (
        "INSERT INTO purchase_lines (id, purchase_id, member_id, line_no, sku, name, category,"
        " quantity, unit_price_minor, total_minor, points)"
        f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, 0)"
    )
    entry_sql = (
        "INSERT INTO journal_entries (id, member_id, kind, key, effective_at, recorded_at, "
        f"points, explanation, detail) VALUES ({p}, {p}, 'earn', {p}, {p}, {p}, {p}, {p}, "
        f"{p if sqlite else p + '::jsonb'})"
    )
    lot_sql = (
        "INSERT INTO point_lots (id, member_id, entry_id, points, remaining, state, earned_at, "
        f"available_at, expires_at, source) VALUES ({p}, {p}, {p}, {p}, {p}, 'available', {p}, "
        f"{p}, {p}, {p})"
    )
    posting_sql = (
        "INSERT INTO postings (entry_id, member_id, account, amount, lot_id) "
        f"VALUES ({p}, {p}, {p}, {p}, {p})"
    )
    balance_sql = (
        f"UPDATE point_balances SET available = available + {p}, "
        f"lifetime_earned = lifetime_earned + {p}, updated_at = {p} WHERE member_id = {p}"
    )
    purchases: list[tuple[object, ...]] = []
    lines: list[tuple[object, ...]] = []
    entries: list[tuple[object, ...]] = []
    lots: list[tuple[object, ...]] = []
    postings: list[tuple[object, ...]] = []
    balances: dict[int, int] = {}

    def flush() -> None:
        if not purchases:
            return
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
        cur.executemany(purchase_sql, purchases)
        cur.executemany(line_sql, lines)
        if ledger:
            cur.executemany(entry_sql, entries)
            cur.executemany(lot_sql, lots)
            cur.executemany(posting_sql, postings)
            cur.executemany(balance_sql, [(n, n, now_v, m) for m, n in sorted(balances.items())])
        if sqlite:
            cur.execute("COMMIT")
        else:
            dbapi.commit()
        purchases.clear()
        lines.clear()
        entries.clear()
        lots.clear()
        postings.clear()
        balances.clear()

    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for order_id, rows_it in groupby(reader, key=itemgetter(0)):
            rows = list(rows_it)
            first = rows[0]
            email = first[1].strip().lower()
            member_id = members.get(email)
            occurred = datetime.fromisoformat(first[2])
            occurred_v = sqlite_datetime(occurred) if sqlite else occurred
            pid = next_pid
            next_pid += 1
            total = 0
            for no, row in enumerate(rows, start=1):
                qty, price = int(row[8]), int(row[9])
                amount = qty * price
                total += amount
                lines.append(
                    (next_lid, pid, member_id, no, row[5], row[6], row[7], qty, price, amount)
                )
                next_lid += 1
            purchases.append(
                (
                    pid,
                    order_id,
                    member_id,
                    None if member_id else "email",
                    None if member_id else email,
                    first[3],
                    first[4],
                    occurred_v,
                    "SEK",
                    total,
                    json_v,
                    now_v,
                )
            )
            if ledger and member_id is not None:
                points = total // 100
                if points:
                    eid, lid = next_eid, next_lot
                    next_eid += 1
                    next_lot += 1
                    entries.append(
                        (eid, member_id, f"purchase:{pid}", occurred_v, now_v, points, "", "{}")
                    )
                    lots.append(
                        (
                            lid,
                            member_id,
                            eid,
                            points,
                            points,
                            occurred_v,
                            occurred_v,
                            occurred_v,
                            f"purchase:{order_id}",
                        )
                    )
                    postings.append((eid, member_id, "member_available", points, lid))
                    postings.append((eid, member_id, "program_issued", -points, None))
                    balances[member_id] = balances.get(member_id, 0) + points
            if len(purchases) >= batch:
                flush()
    flush()
    cur.close()
    raw.close()
    engine.dispose()


if __name__ == "__main__":
    main()
