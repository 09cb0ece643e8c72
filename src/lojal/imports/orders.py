"""The rows of one order in a purchases file made into one purchase (``OrderParser``), or
the reason they cannot be one; and an order's rows sent to the reject file. Shared by the
import in one process (``lojal.imports.purchases``) and its worker processes
(``lojal.imports.parallel``); the file's columns are described in ``lojal.imports.purchases``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lojal.activities.batch import BulkPurchase
from lojal.activities.dating import CLOCK_SKEW, refusal
from lojal.activities.events import LineFacts
from lojal.errors import LojalError
from lojal.imports.grouping import Group, Rows
from lojal.imports.reader import (
    Rejects,
    Row,
    RowError,
    money_minor,
    parse_when,
)
from lojal.members.identities import normalise
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
# The file must have a column for at least one field of each group.
REQUIRED = (
    ("order_id",),
    ("sku",),
    ("unit_price_minor", "unit_price"),
    ("member_id", "email", "phone", "card_number", "external_id"),
)
CHANNELS = ("store", "web", "app", "api", "import")
IDENTITY_KIND = {
    "email": "email",
    "phone": "phone",
    "card_number": "card",
    "external_id": "external_id",
}


@dataclass
class Order:
    rows: Rows  # (line number, columns) of each of its rows
    purchase: BulkPurchase | None
    error: tuple[int, str] | None  # (index of the bad row, reason)


class OrderParser:
    """Turns the rows of one order into a ``BulkPurchase``, or the first reason it cannot be
    one (naming the field). Columns are found once, by the file's header; a column the file
    does not have is never looked at."""

    def __init__(self, index: dict[str, int], config: ProgramConfig, now: datetime) -> None:
        self.columns = {name: index.get(name, -1) for name in FIELDS}
        self.config = config
        self.now = now
        self.region = config.phone_region
        self.timezone = config.timezone
        self.minor_units = config.minor_units
        self.identities = [
            (name, kind, self.columns[name])
            for name, kind in IDENTITY_KIND.items()
            if self.columns[name] >= 0
        ]
        self.members = [
            (name, self.columns[name])
            for name in ("member_id", *IDENTITY_KIND)
            if self.columns[name] >= 0
        ]
        self.seen_times: dict[str, datetime] = {}

    def value(self, raw: list[str], name: str) -> str:
        i = self.columns[name]
        return raw[i].strip() if 0 <= i < len(raw) else ""

    def text(self, raw: list[str], name: str, max_length: int) -> str | None:
        i = self.columns[name]
        if i < 0 or i >= len(raw):
            return None
        value = raw[i].strip()
        if not value:
            return None
        if len(value) > max_length:
            raise RowError(f"{name}: longer than {max_length} characters", field=name)
        return value

    def required(self, raw: list[str], name: str, max_length: int) -> str:
        value = self.text(raw, name, max_length)
        if value is None:
            raise RowError(f"{name}: missing", field=name)
        return value

    def integer(self, raw: list[str], name: str, low: int, high: int) -> int | None:
        i = self.columns[name]
        if i < 0 or i >= len(raw):
            return None
        value = raw[i].strip()
        if not value:
            return None
        try:
            number = int(value)
        except ValueError as exc:
            raise RowError(f"{name}: {value!r} is not a whole number", field=name) from exc
        if not low <= number <= high:
            raise RowError(f"{name}: {number} is outside {low}..{high}", field=name)
        return number

    def line(self, raw: list[str]) -> LineFacts:
        quantity = self.integer(raw, "quantity", 1, 100_000) or 1
        price = self.integer(raw, "unit_price_minor", 0, 10**12)
        if price is None:
            if self.value(raw, "unit_price"):
                row = Row(0, {"unit_price": self.value(raw, "unit_price")}, raw)
                price = money_minor(row, "unit_price", self.minor_units)
            else:
                raise RowError(
                    "unit_price_minor: missing (give unit_price_minor or unit_price)",
                    field="unit_price_minor",
                )
        total = self.integer(raw, "total_minor", 0, 10**12)
        return LineFacts(
            self.required(raw, "sku", 64),
            quantity,
            price,
            quantity * price if total is None else total,
            self.text(raw, "name", 200),
            self.text(raw, "category", 100),
        )

    def when(self, raw: list[str]) -> datetime:
        value = self.value(raw, "occurred_at")
        if not value:
            return self.now
        # Orders of one time (a till's batch, one day's file) parse once.
        found = self.seen_times.get(value)
        if found is None:
            found = parse_when(value, "occurred_at", self.timezone)
            if len(self.seen_times) > 10_000:
                self.seen_times.clear()
            self.seen_times[value] = found
        # History may go back to 1900, but not ahead of the clock (``activities.dating``).
        if found > self.now + CLOCK_SKEW:
            reason = refusal(found, now=self.now, trusted=True, max_backdate_days=0)
            raise RowError(f"occurred_at: {reason}", field="occurred_at")
        return found

    def head(self, raw: list[str], lines: list[LineFacts]) -> BulkPurchase:
        found: dict[str, str] = {}
        width = len(raw)
        for name, kind, i in self.identities:
            value = raw[i].strip() if i < width else ""
            if value:
                try:
                    found[name] = normalise(kind, value, self.region)
                except LojalError as exc:
                    raise RowError(f"{name}: {exc.detail}", field=name) from exc
        member_id = self.integer(raw, "member_id", 1, 2**63 - 1)
        if member_id is None and not found:
            raise RowError(
                "member_id: give member_id, email, phone, card_number or external_id",
                field="member_id",
            )
        channel = self.value(raw, "channel") or "import"
        if channel not in CHANNELS:
            raise RowError(
                f"channel: {channel!r} is not one of {', '.join(CHANNELS)}", field="channel"
            )
        currency = self.value(raw, "currency") or None
        if currency is not None and currency != self.config.currency:
            raise RowError(
                f"currency: the club's currency is {self.config.currency}, not {currency}",
                field="currency",
            )
        return BulkPurchase(
            order_id=self.required(raw, "order_id", 128),
            occurred_at=self.when(raw),
            lines=lines,
            member_id=member_id,
            channel=channel,
            store_id=self.text(raw, "store_id", 64),
            email=found.get("email"),
            phone=found.get("phone"),
            card_number=found.get("card_number"),
            external_id=found.get("external_id"),
        )

    def order(self, rows: Rows) -> Order:
        lines: list[LineFacts] = []
        for i, (_, raw) in enumerate(rows):
            try:
                lines.append(self.line(raw))
            except RowError as exc:
                return Order(rows, None, (i, exc.detail))
        try:
            purchase = self.head(rows[0][1], lines)
        except RowError as exc:
            return Order(rows, None, (0, exc.detail))
        if len(rows) > 1 and (other := self.other_member(rows)) is not None:
            return Order(rows, None, other)
        return Order(rows, purchase, None)

    def other_member(self, rows: Rows) -> tuple[int, str] | None:
        """The first row that names another member than the order's first row does (either
        may leave a member column empty)."""
        first_line, first = rows[0]
        for name, i in self.members:
            mine = first[i].strip() if i < len(first) else ""
            if not mine:
                continue
            for index in range(1, len(rows)):
                raw = rows[index][1]
                theirs = raw[i].strip() if i < len(raw) else ""
                if theirs and theirs != mine and self.same(name, theirs) != self.same(name, mine):
                    return index, (
                        f"{name}: {theirs!r} is not the member of this order's first row (line "
                        f"{first_line}: {mine!r}); the rows of one order belong to one "
                        "member"
                    )
        return None

    def same(self, name: str, value: str) -> str:
        """``value`` as the member it names is compared (``M1@Example.se`` is ``m1@...``)."""
        if not value:
            return ""
        try:
            if name == "member_id":
                return str(int(value))
            return normalise(IDENTITY_KIND[name], value, self.region)
        except (ValueError, LojalError):
            return value


def reject_order(
    order: Order | Group, index: int, reason: str, rejects: Rejects, header: list[str]
) -> None:
    """Every row of ``order`` to the reject file: the bad one with ``reason``, the others
    naming it."""
    bad_line = order.rows[index][0]
    for i, (line, raw) in enumerate(order.rows):
        rejects.add(
            Row(line, {}, raw),
            reason
            if i == index
            else f"order_id: line {bad_line} of this order was rejected ({reason})",
            header,
        )
