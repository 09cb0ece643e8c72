"""Import purchases from CSV through the rules into the ledger.

Format: one row per line item; the rows of one order are consecutive and make one purchase.

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

Purchase-level columns are read from the order's first row. The file is streamed and written
in batches (one transaction per batch), so an import that is stopped half-way and run again
ends with every order exactly once. A bad row rejects its whole order (all its rows go to the
reject file); the other orders are imported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from lojal.activities.bulk import BulkLine, BulkPurchase, import_purchases
from lojal.db.session import transaction
from lojal.errors import LojalError
from lojal.imports.reader import (
    CsvSource,
    Rejects,
    Row,
    RowError,
    Summary,
    integer,
    money_minor,
    required,
    text_or_none,
    when,
)
from lojal.members.identities import normalise
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig

FIELDS = (
    "order_id",
    "member_id",
    "email",
    "phone",
    "card_number",
    "external_id",
    "occurred_at",
    "channel",
    "store_id",
    "sku",
    "name",
    "category",
    "quantity",
    "unit_price_minor",
    "unit_price",
    "total_minor",
    "currency",
)
CHANNELS = ("store", "web", "app", "api", "import")
IDENTITY_KIND = {
    "email": "email",
    "phone": "phone",
    "card_number": "card",
    "external_id": "external_id",
}
Progress = Callable[[int, int], None]  # (bytes read, file size)


@lru_cache(maxsize=200_000)
def normalised(kind: str, value: str, region: str) -> str:
    return normalise(kind, value, region)


@dataclass
class Order:
    rows: list[Row]
    purchase: BulkPurchase | None
    error: tuple[int, str] | None  # (index of the bad row, reason)


def parse_line(row: Row, config: ProgramConfig) -> BulkLine:
    quantity = integer(row, "quantity", default=1, low=1, high=100_000)
    if row.values.get("unit_price_minor"):
        price = integer(row, "unit_price_minor")
    elif row.values.get("unit_price"):
        price = money_minor(row, "unit_price", config.minor_units)
    else:
        raise RowError(
            "unit_price_minor: missing (give unit_price_minor or unit_price)",
            field="unit_price_minor",
        )
    total = integer(row, "total_minor") if row.values.get("total_minor") else None
    return BulkLine(
        sku=required(row, "sku", 64),
        unit_price_minor=price,
        quantity=quantity,
        name=text_or_none(row, "name", 200),
        category=text_or_none(row, "category", 100),
        total_minor=total,
    )


def parse_head(
    row: Row, config: ProgramConfig, now: datetime, lines: list[BulkLine]
) -> BulkPurchase:
    identities: dict[str, str] = {}
    for name, kind in IDENTITY_KIND.items():
        value = row.values.get(name, "")
        if value:
            try:
                identities[name] = normalised(kind, value, config.phone_region)
            except LojalError as exc:
                raise RowError(f"{name}: {exc.detail}", field=name) from exc
    member_id = (
        integer(row, "member_id", low=1, high=2**63 - 1) if row.values.get("member_id") else None
    )
    if member_id is None and not identities:
        raise RowError(
            "member_id: give member_id, email, phone, card_number or external_id", field="member_id"
        )
    channel = row.values.get("channel") or "import"
    if channel not in CHANNELS:
        raise RowError(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}", field="channel")
    currency = row.values.get("currency") or None
    if currency is not None and currency != config.currency:
        raise RowError(
            f"currency: the club's currency is {config.currency}, not {currency}", field="currency"
        )
    return BulkPurchase(
        order_id=required(row, "order_id", 128),
        occurred_at=when(row, "occurred_at", config.timezone, default=now),
        lines=tuple(lines),
        member_id=member_id,
        channel=channel,
        store_id=text_or_none(row, "store_id", 64),
        email=identities.get("email"),
        phone=identities.get("phone"),
        card_number=identities.get("card_number"),
        external_id=identities.get("external_id"),
    )


def orders(rows: Iterator[Row], config: ProgramConfig, now: datetime) -> Iterator[Order]:
    """Group consecutive rows of one order and parse them."""
    group: list[Row] = []
    current: str | None = None
    for row in rows:
        order_id = row.values.get("order_id", "")
        if group and order_id != current:
            yield _order(group, config, now)
            group = []
        current = order_id
        group.append(row)
    if group:
        yield _order(group, config, now)


def _order(group: list[Row], config: ProgramConfig, now: datetime) -> Order:
    lines: list[BulkLine] = []
    for i, row in enumerate(group):
        try:
            lines.append(parse_line(row, config))
        except RowError as exc:
            return Order(group, None, (i, exc.detail))
    try:
        return Order(group, parse_head(group[0], config, now, lines), None)
    except RowError as exc:
        return Order(group, None, (0, exc.detail))
    except ValueError as exc:
        return Order(group, None, (0, f"order_id: {exc}"))


def reject_order(
    order: Order, index: int, reason: str, rejects: Rejects, header: list[str]
) -> None:
    bad = order.rows[index]
    for i, row in enumerate(order.rows):
        rejects.add(
            row,
            reason
            if i == index
            else f"order_id: line {bad.line} of this order was rejected ({reason})",
            header,
        )


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
) -> Summary:
    """Import the purchases of ``path``; returns the counts (rows of the file)."""
    with transaction(factory, read_only=True) as session:
        config = program_service.current(session)
    source = CsvSource(path, mapping=mapping, known=FIELDS)
    rejects = Rejects(rejects_path or path.with_name(path.name + ".rejects.csv"))
    summary = Summary(extra={"purchases written": 0, "points": 0})
    batch: list[Order] = []

    def flush() -> None:
        if not batch:
            return
        with transaction(factory) as session:
            result = import_purchases(
                session, [o.purchase for o in batch if o.purchase], now, config=config
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
        for order in orders(source.rows(), config, now):
            summary.read += len(order.rows)
            if order.purchase is None:
                assert order.error is not None
                reject_order(order, order.error[0], order.error[1], rejects, source.header)
                summary.rejected += len(order.rows)
                continue
            batch.append(order)
            if len(batch) >= batch_size:
                flush()
        flush()
    finally:
        rejects.close()
    return summary
