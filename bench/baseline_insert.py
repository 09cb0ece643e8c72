"""The storage limit for ``bench_import``: insert the purchases of a CSV (import format) and their
lines into ``purchases`` and ``purchase_lines`` with the raw DBAPI cursor's ``executemany``,
``BATCH`` purchases per transaction. No rules, no ledger, no validation beyond parsing.

    python -m bench.baseline_insert DATABASE_URL FILE.csv [BATCH]

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
    url, path = sys.argv[1], sys.argv[2]
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
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
    purchases: list[tuple[object, ...]] = []
    lines: list[tuple[object, ...]] = []

    def flush() -> None:
        if not purchases:
            return
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
        cur.executemany(purchase_sql, purchases)
        cur.executemany(line_sql, lines)
        if sqlite:
            cur.execute("COMMIT")
        else:
            dbapi.commit()
        purchases.clear()
        lines.clear()

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
            if len(purchases) >= batch:
                flush()
    flush()
    cur.close()
    raw.close()
    engine.dispose()


if __name__ == "__main__":
    main()
