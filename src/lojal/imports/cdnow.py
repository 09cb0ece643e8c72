"""Load the real CDNOW purchase history (see ``data/cdnow/PROVENANCE.md``).

``CDNOW_master.txt`` is whitespace separated with one header line: ``customer_id date
number_of_cds dollar_value`` (date ``YYYYMMDD``). Every customer becomes a member
(``external_id`` = the customer id as written, channel ``import``, enrolled on the day of their
first purchase); every row becomes a purchase of one line (sku ``cd``, category ``music``,
quantity the number of CDs, the dollar value taken as the club's currency) with order id
``cdnow-<customer>-<date>-<n>`` (``n`` counts the customer's rows of that day). Dates are
midnight in the club's time zone. Batches commit one by one, and a re-run adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from lojal.activities.batch import BulkPurchase
from lojal.activities.bulk import import_purchases
from lojal.activities.events import LineFacts
from lojal.db.session import transaction
from lojal.imports.members import MemberRow, import_members
from lojal.imports.reader import Summary
from lojal.members.schemas import MemberCreate
from lojal.program import service as program_service

DEFAULT_FILE = Path(__file__).resolve().parents[3] / "data" / "cdnow" / "CDNOW_master.txt"
Progress = Callable[[int, int], None]


def rows(path: Path, limit: int | None = None) -> Iterator[tuple[int, str, date, int, int]]:
    """(line number, customer id, day, number of CDs, value in cents)."""
    with path.open(encoding="ascii") as handle:
        for number, text in enumerate(handle, start=1):
            parts = text.split()
            if number == 1 and parts and not parts[0].isdigit():
                continue
            if not parts:
                continue
            if limit is not None and number > limit + 1:
                return
            customer, day, cds, dollars = parts[-4:]
            yield (
                number,
                customer,
                date(int(day[:4]), int(day[4:6]), int(day[6:])),
                int(cds),
                int(Decimal(dollars).scaleb(2)),
            )


def run(
    factory: sessionmaker[Session],
    path: Path = DEFAULT_FILE,
    *,
    now: datetime,
    limit: int | None = None,
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> Summary:
    with transaction(factory, read_only=True) as session:
        config = program_service.current(session)
    tz = ZoneInfo(config.timezone)
    total = _count_lines(path) if progress else 0
    summary = Summary(extra={"members written": 0, "points": 0})
    counts: dict[tuple[str, date], int] = {}
    batch: list[tuple[int, str, date, int, int]] = []

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tz).astimezone(UTC)

    def flush() -> None:
        if not batch:
            return
        first_day: dict[str, date] = {}
        for _, customer, day, _, _ in batch:
            first_day.setdefault(customer, day)
        new_members = [
            MemberRow(
                0,
                MemberCreate(channel="import", external_id=customer, enrolled_at=midnight(day)),
                (("external_id", customer),),
            )
            for customer, day in first_day.items()
        ]
        purchases = []
        for _, customer, day, cds, cents in batch:
            n = counts.get((customer, day), 0) + 1
            counts[(customer, day)] = n
            quantity = max(cds, 1)
            purchases.append(
                BulkPurchase(
                    order_id=f"cdnow-{customer}-{day:%Y%m%d}-{n}",
                    occurred_at=midnight(day),
                    external_id=customer,
                    channel="import",
                    lines=(
                        LineFacts.of(
                            sku="cd",
                            name="CD",
                            category="music",
                            quantity=quantity,
                            unit_price_minor=cents // quantity,
                            total_minor=cents,
                        ),
                    ),
                )
            )
        with transaction(factory) as session:
            members = import_members(session, new_members, now=now, region=config.phone_region)
            result = import_purchases(session, purchases, now, config=config)
        summary.extra["members written"] += members.written
        summary.extra["points"] += result.points
        summary.written += result.written
        summary.skipped += result.skipped
        summary.rejected += len(result.rejected)
        if progress:
            progress(batch[-1][0], total)
        batch.clear()

    for row in rows(path, limit):
        summary.read += 1
        if len(batch) >= batch_size and row[1] != batch[-1][1]:
            # A customer's rows stay in one batch.
            flush()
        batch.append(row)
    flush()
    return summary


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
