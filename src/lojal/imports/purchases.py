"""Import purchases from CSV through the rules into the ledger.

Format: one row per line item; the rows of one order make one purchase. They need not be
consecutive: rows of one order up to ``grouping.WINDOW`` (10,000) lines apart are grouped, and
a row further away is rejected (``lojal.imports.grouping``).

=================  =========================================================================
column             meaning
=================  =========================================================================
order_id           the till's or shop's order id (the natural key: importing it twice adds
                   nothing)
member_id |        who bought: a member id, or any identity (email, phone, card_number,
email | phone |    external_id); an identity that is not a member yet is kept and the
card_number |      purchase is credited when they enrol
external_id
occurred_at        ISO 8601 (``2026-03-02T09:15:00+01:00``; UTC when no offset); a date alone
                   means midnight in the club's time zone. Default: now
channel            store, web, app, api or import (default import)
store_id           optional
sku                the article (required)
name, category     optional; rules can match on the category
quantity           whole number, default 1
unit_price_minor   price of one unit in minor units (öre), or ``unit_price`` in major units
                   (``49.90``); ``total_minor`` optionally gives a discounted line total
currency           optional; must be the club's
=================  =========================================================================

Purchase-level columns are read from the order's first row; a later row may leave them empty,
but one that names another member (another ``member_id``, ``email``, ...) rejects the order.
The file is streamed and written in batches (one transaction per batch), so an import that is
stopped half-way and run again ends with every order exactly once. A bad row rejects its whole
order (all its rows go to the reject file); the other orders are imported. The file must have
an ``order_id`` column, a ``sku`` column, a price column and a column naming the member; an
unknown column is named in a warning and not read. ``workers`` > 1 shares the work between
processes by member (``lojal.imports.parallel``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from lojal.activities.batch import ImportState
from lojal.activities.bulk import import_purchases
from lojal.db.session import transaction
from lojal.imports import parallel
from lojal.imports.grouping import groups
from lojal.imports.orders import FIELDS, REQUIRED, Order, OrderParser, reject_order
from lojal.imports.reader import (
    CsvSource,
    Rejects,
    Summary,
)
from lojal.program import service as program_service

Progress = Callable[[int, int], None]  # (bytes read, file size)


def run(
    factory: sessionmaker[Session],
    path: Path,
    *,
    now: datetime,
    mapping: dict[str, str] | None = None,
    rejects_path: Path | None = None,
    batch_size: int = 5000,
    progress: Progress | None = None,
    pause: float = 0.0,
    workers: int = 1,
    encoding: str = "utf-8",
    warn: Callable[[str], None] | None = None,
) -> Summary:
    """Import the purchases of ``path``; returns the counts (rows of the file). With
    ``workers`` > 1 the work is shared by that many processes (``lojal.imports.parallel``)."""
    source = CsvSource(
        path, mapping=mapping, known=FIELDS, required=REQUIRED, encoding=encoding, warn=warn
    )
    source.open()  # a file that cannot be imported at all is refused before anything
    with transaction(factory, read_only=True) as session:
        config = program_service.current(session)
    if progress:
        progress(0, source.size)
    rejects_path = rejects_path or path.with_name(path.name + ".rejects.csv")
    if workers > 1:
        bind = factory.kw["bind"]
        return parallel.run(
            bind.url.render_as_string(hide_password=False),
            source,
            config=config,
            now=now,
            workers=workers,
            rejects_path=rejects_path,
            batch_size=batch_size,
            progress=progress,
            pause=pause,
        )
    rejects = Rejects(rejects_path)
    summary = Summary(extra={"purchases written": 0, "points": 0})
    state = ImportState()
    batch: list[Order] = []
    parser: OrderParser | None = None

    def flush() -> None:
        if not batch:
            return
        with transaction(factory) as session:
            result = import_purchases(
                session,
                [o.purchase for o in batch if o.purchase],
                now,
                config=config,
                state=state,
            )
        bad = {r.index: r for r in result.rejected}
        skipped = set(result.skipped_indices)
        for i, order in enumerate(batch):
            if i in bad:
                reject_order(order, 0, f"{bad[i].field}: {bad[i].reason}", rejects, source.header)
                summary.rejected += len(order.rows)
            elif i in skipped:
                summary.skipped += len(order.rows)
            else:
                summary.written += len(order.rows)
        summary.extra["purchases written"] += result.written
        summary.extra["points"] += result.points
        rejects.flush()
        batch.clear()
        if progress:
            progress(source.position, source.size)
        if pause:
            time.sleep(pause)

    try:
        for group in groups(source):
            summary.read += len(group.rows)
            if group.problem is not None:
                reject_order(group, *group.problem, rejects, source.header)
                summary.rejected += len(group.rows)
                continue
            if parser is None:
                parser = OrderParser(source.index, config, now)
            order = parser.order(group.rows)
            if order.purchase is None:
                assert order.error is not None
                reject_order(order, *order.error, rejects, source.header)
                summary.rejected += len(order.rows)
                continue
            batch.append(order)
            if len(batch) >= batch_size:
                flush()
        flush()
    finally:
        rejects.close()
    summary.undecodable = source.undecodable
    return summary
