"""Streaming CSV input shared by the importers: rows with their line numbers, column mapping,
a reject file, and the summary every import ends with.

The file is read line by line (never whole); the bytes read so far drive the progress bar.
``--map field=Column`` maps an importer field to the file's column name (``email=E-post``).
Rejected rows go to a CSV next to the input (``FILE.rejects.csv``) with their original line
number and a reason that names the field; the good rows are imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from lojal.errors import Invalid


class RowError(Invalid):
    """A bad value in one row: ``field`` names the column (by its importer name)."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # the line number in the file (1 is the header)
    values: dict[str, str]  # importer field -> raw text (mapped names)
    raw: list[str]  # the row as it was


@dataclass
class Summary:
    read: int = 0
    written: int = 0
    skipped: int = 0
    rejected: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def line(self, noun: str = "rows") -> str:
        more = "".join(f", {v} {k}" for k, v in self.extra.items())
        return (
            f"{noun} read {self.read}, written {self.written}, skipped (already there) "
            f"{self.skipped}, rejected {self.rejected}{more}"
        )


def parse_mapping(items: Sequence[str] | None) -> dict[str, str]:
    """``["email=E-post", ...]`` -> ``{"email": "E-post"}``."""
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, column = item.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise Invalid(f"--map {item!r}: write it as field=Column", field="map")
        out[name.strip()] = column.strip()
    return out


class CsvSource:
    """Iterate a CSV file's rows, tracking the bytes read.

    ``records()`` gives ``(line number, columns)`` with ``index`` mapping each importer field to
    its column (the fast way, for purchases); ``rows()`` gives ``Row`` values."""

    def __init__(
        self,
        path: Path,
        *,
        mapping: dict[str, str] | None = None,
        known: Sequence[str] = (),
        delimiter: str = ",",
    ) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.position = 0
        self.mapping = mapping or {}
        self.known = known
        self.delimiter = delimiter
        self.header: list[str] = []
        self.index: dict[str, int] = {}

    def records(self) -> Iterator[tuple[int, list[str]]]:
        with (
            self.path.open("rb") as raw,
            io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text,
        ):
            reader = csv.reader(text, delimiter=self.delimiter)
            try:
                self.header = [name.strip() for name in next(reader)]
            except StopIteration:
                return
            column_of = {name: name for name in self.header}
            for name, column in self.mapping.items():
                if column not in column_of:
                    raise Invalid(
                        f"--map {name}={column}: the file has no column {column!r} "
                        f"(it has {', '.join(self.header)})",
                        field="map",
                    )
                column_of[name] = column
            self.index = {
                name: self.header.index(column)
                for name, column in column_of.items()
                if not self.known or name in self.known
            }
            try:
                for record in reader:
                    if not record or (len(record) == 1 and not record[0].strip()):
                        continue
                    self.position = raw.tell()
                    yield reader.line_num, record
            except UnicodeDecodeError as exc:
                raise Invalid(
                    f"line {reader.line_num + 1}: the file is not UTF-8 text ({exc.reason})",
                    field="file",
                ) from exc
            self.position = self.size

    def rows(self) -> Iterator[Row]:
        for line, raw in self.records():
            width = len(raw)
            values = {name: raw[i].strip() if i < width else "" for name, i in self.index.items()}
            yield Row(line, values, raw)


class Rejects:
    """The reject file: ``line, reason`` and then the row's original columns. Created only
    when a row is rejected."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._handle: IO[str] | None = None
        self._writer: Any = None
        # A file from an earlier run is replaced.
        path.unlink(missing_ok=True)

    def add(self, row: Row, reason: str, header: Sequence[str]) -> None:
        if self._writer is None:
            self._handle = self.path.open("w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "reason", *header])
        self._writer.writerow([row.line, reason, *row.raw])
        self.count += 1

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


# ------------------------------------------------------------------ value parsers


def text_or_none(row: Row, name: str, max_length: int) -> str | None:
    value = row.values.get(name, "")
    if not value:
        return None
    if len(value) > max_length:
        raise RowError(f"{name}: longer than {max_length} characters", field=name)
    return value


def required(row: Row, name: str, max_length: int) -> str:
    value = text_or_none(row, name, max_length)
    if value is None:
        raise RowError(f"{name}: missing", field=name)
    return value


def integer(
    row: Row, name: str, *, default: int | None = None, low: int = 0, high: int = 10**12
) -> int:
    value = row.values.get(name, "")
    if not value:
        if default is None:
            raise RowError(f"{name}: missing", field=name)
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise RowError(f"{name}: {value!r} is not a whole number", field=name) from exc
    if not low <= number <= high:
        raise RowError(f"{name}: {number} is outside {low}..{high}", field=name)
    return number


def money_minor(row: Row, name: str, minor_units: int) -> int:
    """A decimal amount in major units (``49.90``) as integer minor units."""
    value = row.values.get(name, "").replace(",", ".")
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise RowError(f"{name}: {value!r} is not an amount", field=name) from exc
    minor = amount.scaleb(minor_units)
    if minor != minor.to_integral_value() or minor < 0 or not minor.is_finite():
        raise RowError(f"{name}: {value!r} is not an amount in whole minor units", field=name)
    return int(minor)


def when(row: Row, name: str, timezone: str, *, default: datetime | None = None) -> datetime:
    """ISO 8601 date-time (UTC when no offset is given) or a date (midnight in the club's
    time zone)."""
    value = row.values.get(name, "")
    if not value:
        if default is None:
            raise RowError(f"{name}: missing", field=name)
        return default
    return parse_when(value, name, timezone)


def parse_when(value: str, name: str, timezone: str) -> datetime:
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RowError(f"{name}: {value!r} is not an ISO 8601 date or time", field=name) from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


TRUE = {"1", "true", "yes", "y", "ja", "j", "t"}
FALSE = {"0", "false", "no", "n", "nej", "f"}


def boolean(row: Row, name: str) -> bool | None:
    value = row.values.get(name, "").lower()
    if not value:
        return None
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise RowError(f"{name}: {value!r} is not yes/no", field=name)
