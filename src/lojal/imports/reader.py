"""Streaming CSV input shared by the importers: rows with their line numbers, column mapping,
a reject file, and the summary every import ends with.

The file is read line by line (never whole); the bytes read so far drive the progress bar.
``--map field=Column`` maps an importer field to the file's column name (``email=E-post``).
The header is checked before any row: a ``--map`` to a field the importer does not have, or a
file without a column the importer needs, stops the import with one sentence naming the
columns the file has and the fields there are; a column that is not read is named in a warning.

Rejected rows go to a CSV next to the input (``FILE.rejects.csv``) with their original line
number and a reason that names the field; the good rows are imported. A row is rejected before
any value is parsed when it cannot be read as it is: more fields than the header (other than
empty ones) or fewer, a NUL character or bytes that are not text in the file's encoding
(``--encoding``, default UTF-8) in a field that is read, or a field longer than the CSV
module's limit (128 KiB) that is read. A file whose header cannot be read is one sentence.

Reading stays cheap: each physical line is checked once for a NUL character and, when it is not
ASCII, for undecodable bytes; only a line that fails is looked at field by field.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from lojal.errors import Invalid
from lojal.inputs import storable_day, storable_time, text_refusal


class RowError(Invalid):
    """A bad value in one row: ``field`` names the column (by its importer name)."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # the line number in the file (1 is the header)
    values: dict[str, str]  # importer field -> raw text (mapped names)
    raw: list[str]  # the row as it was
    problem: str | None = None  # why the row cannot be read at all (see ``CsvSource``)


@dataclass
class Summary:
    read: int = 0
    written: int = 0
    skipped: int = 0
    rejected: int = 0
    extra: dict[str, int] = field(default_factory=dict)
    undecodable: int = 0  # rows rejected for bytes that are not text in the file's encoding

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


FIELD_LIMIT = csv.field_size_limit()


class CsvSource:
    """Iterate a CSV file's rows, tracking the bytes read.

    ``records()`` gives ``(line number, columns)`` with ``index`` mapping each importer field to
    its column (the fast way, for purchases); ``rows()`` gives ``Row`` values. A record that
    cannot be read as it is (see the module docstring) is given too, with the reason in
    ``problems[line]``; ``rows()`` moves it to ``Row.problem``.

    ``required`` lists groups of fields of which the file must have at least one column each
    (``(("order_id",), ("sku",))``); ``warn`` hears the sentence naming the columns not read."""

    def __init__(
        self,
        path: Path,
        *,
        mapping: dict[str, str] | None = None,
        known: Sequence[str] = (),
        required: Sequence[Sequence[str]] = (),
        delimiter: str = ",",
        encoding: str = "utf-8",
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        try:
            self.size = path.stat().st_size
        except OSError as exc:
            raise _cannot_open(path, exc) from None
        self.position = 0
        self.mapping = mapping or {}
        self.known = known
        self.required = required
        self.delimiter = delimiter
        self.encoding = _codec_name(encoding)
        self.warn = warn
        self.header: list[str] = []
        self.index: dict[str, int] = {}
        self.problems: dict[int, str] = {}
        self.undecodable = 0  # rows refused for bytes that are not text in the encoding
        for name, column in self.mapping.items():
            if known and name not in known:
                raise Invalid(
                    f"--map {name}={column}: there is no field {name!r} "
                    f"(the fields are {', '.join(known)})",
                    field="map",
                )
        self._flagged = False  # the record being read has a line with NUL or undecodable bytes
        self._last = ""  # the last physical line read
        self._raw: IO[bytes] | None = None
        self._text: IO[str] | None = None
        self._reader: Any = None  # the csv reader (``_csv.reader`` has no public type)

    def _lines(self, text: IO[str]) -> Iterator[str]:
        for line in text:
            if "\x00" in line or not (line.isascii() or _encodable(line)):
                self._flagged = True
            self._last = line
            yield line

    def open(self) -> None:
        """Open the file and read and check its header: every refusal of the file as a whole
        is raised here, before any row is read. ``records()`` calls it when it was not."""
        if self._reader is not None:
            return
        try:
            raw = self.path.open("rb")
        except OSError as exc:
            raise _cannot_open(self.path, exc) from None
        text = io.TextIOWrapper(raw, encoding=self.encoding, errors="surrogateescape", newline="")
        reader = csv.reader(self._lines(text), delimiter=self.delimiter)
        try:
            try:
                header = next(reader)
            except StopIteration:
                raise Invalid(f"{self.path.name} is empty", field="file") from None
            except (csv.Error, UnicodeDecodeError) as exc:
                raise self._unreadable(1, exc) from None
            if self._flagged:
                raise Invalid(
                    f"{self.path.name}: the header (line 1) is not {self._encoding_name} text; "
                    "give the file's encoding with --encoding (e.g. --encoding latin-1)",
                    field="file",
                )
            self.header = [name.strip() for name in header]
            self._columns()
        except BaseException:
            text.close()
            raise
        self._raw, self._text, self._reader = raw, text, reader

    def records(self) -> Iterator[tuple[int, list[str]]]:
        self.open()
        raw, text, reader = self._raw, self._text, self._reader
        assert raw is not None
        assert text is not None
        width = len(self.header)
        end = reader.line_num
        try:
            while True:
                try:
                    for record in reader:
                        start, end = end + 1, reader.line_num
                        if not record or (len(record) == 1 and not record[0].strip()):
                            self._flagged = False
                            continue
                        if self._flagged or len(record) != width:
                            problem = self._problem(record, width)
                            self._flagged = False
                            if problem is not None:
                                self.problems[end] = problem
                        self.position = raw.tell()
                        yield end, record
                    break
                except csv.Error as exc:
                    start, end = end + 1, reader.line_num
                    self._flagged = False
                    record, problem = self._recover(start, end, exc)
                    if problem is not None:
                        self.problems[end] = problem
                    yield end, record
                except UnicodeDecodeError as exc:
                    raise self._unreadable(reader.line_num + 1, exc) from None
        finally:
            text.close()
            self._raw = self._text = self._reader = None
        self.position = self.size

    def rows(self) -> Iterator[Row]:
        problems = self.problems
        for line, raw in self.records():
            width = len(raw)
            values = {name: raw[i].strip() if i < width else "" for name, i in self.index.items()}
            yield Row(line, values, raw, problems.pop(line, None) if problems else None)

    # -------------------------------------------------------------- the header

    def _columns(self) -> None:
        header = self.header
        column_of = {name: name for name in header}
        for name, column in self.mapping.items():
            if column not in column_of:
                raise Invalid(
                    f"--map {name}={column}: the file has no column {column!r} "
                    f"(it has {', '.join(header)})",
                    field="map",
                )
            column_of[name] = column
        self.index = {
            name: header.index(column)
            for name, column in column_of.items()
            if not self.known or name in self.known
        }
        if not self.known:
            return
        read = {header[i] for i in self.index.values()}
        missing = [group for group in self.required if not any(n in self.index for n in group)]
        fields = ", ".join(self.known)
        if missing:
            wanted = "; ".join(" or ".join(group) for group in missing)
            raise Invalid(
                f"{self.path.name} has no column for {wanted} (it has "
                f"{', '.join(header) or 'none'}; the fields are {fields}); name the columns "
                "after the fields or map them with --map field=Column",
                field="file",
            )
        ignored = [name for name in header if name not in read]
        if ignored and self.warn is not None:
            self.warn(
                f"{self.path.name}: the columns {', '.join(repr(n) for n in ignored)} are not "
                f"read (the fields are {fields}; read a column as a field with --map "
                "field=Column)"
            )

    # -------------------------------------------------------------- rows that cannot be read

    @property
    def _encoding_name(self) -> str:
        return "UTF-8" if self.encoding == "utf-8-sig" else self.encoding

    def _problem(self, record: list[str], width: int) -> str | None:
        """Why ``record`` cannot be imported as it is, or ``None``."""
        for name, i in self.index.items():
            value = record[i] if i < len(record) else ""
            if "\x00" in value:
                return f"{name}: {text_refusal(value)}"
            if not (value.isascii() or _encodable(value)):
                self.undecodable += 1
                byte = next(ord(c) - 0xDC00 for c in value if "\udc80" <= c <= "\udcff")
                return (
                    f"{name}: is not {self._encoding_name} text (byte 0x{byte:02x}); give the "
                    "file's encoding with --encoding (e.g. --encoding latin-1)"
                )
        if len(record) < width:
            return (
                f"the row has {len(record)} fields and the header {width} "
                "(a missing separator, or a quoted field broken off?)"
            )
        if len(record) > width and any(value.strip() for value in record[width:]):
            return (
                f"the row has {len(record)} fields and the header {width} "
                "(a separator inside a value that is not quoted?)"
            )
        return None

    def _recover(self, start: int, end: int, error: csv.Error) -> tuple[list[str], str | None]:
        """The record the CSV module refused (a field over its size limit): read again from
        its line with the limit raised, so that the row joins its order and the reason names
        the field; a record over several lines is only named."""
        if start != end:
            return [], (
                f"lines {start}-{end}: a field is longer than {FIELD_LIMIT} characters "
                "(a quote that is not closed?)"
            )
        limit = csv.field_size_limit(len(self._last) + 1)
        try:
            record = next(csv.reader([self._last], delimiter=self.delimiter), [])
        except csv.Error:
            record = []
        finally:
            csv.field_size_limit(limit)
        if not record:
            return [], f"the row cannot be read as CSV ({error})"
        too_long = {i for i, value in enumerate(record) if len(value) > FIELD_LIMIT}
        for name, i in self.index.items():
            if i in too_long:
                return record, (
                    f"{name}: longer than {FIELD_LIMIT} characters (the most a field can hold)"
                )
        # Only columns that are not read are that long: the row is read as any other.
        return record, self._problem(record, len(self.header))

    def _unreadable(self, line: int, error: Exception) -> Invalid:
        return Invalid(
            f"{self.path.name} cannot be read as {self._encoding_name} text (line {line}: "
            f"{error}); give the file's encoding with --encoding (e.g. --encoding latin-1)",
            field="file",
        )


def _cannot_open(path: Path, error: OSError) -> Invalid:
    return Invalid(f"{path}: {(error.strerror or 'cannot be read').lower()}", field="file")


def _codec_name(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise Invalid(
            f"--encoding {encoding}: no such encoding (e.g. utf-8, latin-1, cp1252)",
            field="encoding",
        ) from None
    # A UTF-8 file may begin with a byte order mark (Excel writes one).
    return "utf-8-sig" if name == "utf-8" else name


def _encodable(text: str) -> bool:
    """False when ``text`` holds a lone surrogate (an undecodable byte, escaped)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
            # A row refused for undecodable bytes is written back with the very same bytes.
            self._handle = self.path.open(
                "w", newline="", encoding="utf-8", errors="surrogateescape"
            )
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
    """``value`` as a UTC time lojal can store (``lojal.inputs.storable_time``), or a
    ``RowError`` naming ``name``."""
    day: date | None = None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RowError(f"{name}: {value!r} is not an ISO 8601 date or time", field=name) from exc
    try:
        if day is not None:
            moment = datetime.combine(storable_day(day), time(0), ZoneInfo(timezone))
        return storable_time(moment)
    except ValueError as exc:
        raise RowError(f"{name}: {value!r} {exc}", field=name) from exc


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
