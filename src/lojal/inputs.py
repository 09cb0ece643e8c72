"""What lojal accepts as a time or a text, for every way in (API, CLI, CSV import).

One rule, checked where input is parsed, so that nothing past the entry points meets a value the
arithmetic or the database cannot hold:

* **Times** lie in ``[1900-01-01, 3000-01-01)`` UTC. Outside that window the rules' cap windows,
  expiry dates and period arithmetic would overflow ``datetime`` (year 1 minus a day) or describe
  no real purchase. A time without an offset is read as UTC (as it always was), then checked.
* **Texts** hold no NUL character (PostgreSQL cannot store one in ``text``/``jsonb``; SQLite would
  store a value that every other tool truncates) and no lone surrogate (not encodable as UTF-8).
  Nested JSON (attributes, metadata) is checked key by key and value by value.

The functions raise ``ValueError`` with a sentence a person can act on; Pydantic turns it into a
422 naming the field, the CLI and the importer into a refused row naming the line and column.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, NamedTuple

import orjson
from pydantic import AfterValidator

from lojal.clock import ensure_utc

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
EARLIEST_DAY = EARLIEST.date()
LATEST_DAY = LATEST.date()


def storable_time(value: datetime) -> datetime:
    """``value`` in UTC, or ``ValueError`` outside the window lojal can compute with."""
    try:
        utc = ensure_utc(value)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 has no UTC time
        raise ValueError(_time_refusal()) from None
    if not (EARLIEST <= utc < LATEST):
        raise ValueError(_time_refusal())
    return utc


def storable_day(value: date) -> date:
    """``value`` itself, or ``ValueError`` outside ``[1900-01-01, 3000-01-01)``."""
    if not (EARLIEST_DAY <= value < LATEST_DAY):
        raise ValueError("must be a date from 1900-01-01 up to 2999-12-31")
    return value


def _time_refusal() -> str:
    return "must be a time from 1900-01-01 up to 2999-12-31 (UTC)"


def text_refusal(value: str) -> str | None:
    """Why ``value`` cannot be stored, or ``None`` when it can."""
    if "\x00" in value:
        return "must not contain a NUL character (\\x00)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (it holds a lone surrogate)"
    return None


def storable_text(value: str) -> str:
    reason = text_refusal(value)
    if reason is not None:
        raise ValueError(reason)
    return value


class Unstorable(NamedTuple):
    """A text in a JSON-like value that cannot be stored: where (``a.b[0]``, ``""`` for the
    value itself), why, and whether it is the key at that place rather than its value."""

    path: str
    reason: str
    key: bool = False

    def __str__(self) -> str:
        if self.key:
            return f"the key {self.path!r} {self.reason}"
        return f"{self.path or 'value'} {self.reason}"


def locate_unstorable(value: Any, path: str = "") -> Unstorable | None:
    """The first place in a JSON-like value holding a text that cannot be stored, or ``None``."""
    if isinstance(value, str):
        reason = text_refusal(value)
        return None if reason is None else Unstorable(path, reason)
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and (reason := text_refusal(key)) is not None:
                return Unstorable(where, reason, key=True)
            if (found := locate_unstorable(item, where)) is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if (found := locate_unstorable(item, f"{path}[{index}]")) is not None:
                return found
    return None


def find_unstorable(value: Any, path: str = "") -> str | None:
    """The first place in a JSON-like value holding a text that cannot be stored, as
    ``"path: reason"``, or ``None``."""
    found = locate_unstorable(value, path)
    return None if found is None else str(found)


def storable_json(value: Any) -> Any:
    found = find_unstorable(value)
    if found is not None:
        raise ValueError(found)
    return value


# A member's, a purchase's or an event's own data (attributes, properties) is stored with the row
# and served back on every read of it: bounded, so that one request cannot make every later read
# carry megabytes.
MAX_ATTRIBUTES_BYTES = 16_384


def bounded_attributes(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` if its JSON (orjson: integers within 64 bits) fits ``MAX_ATTRIBUTES_BYTES``."""
    try:
        size = len(orjson.dumps(value))
    except TypeError as exc:
        raise ValueError(f"attributes must be JSON with integers within 64 bits ({exc})") from exc
    if size > MAX_ATTRIBUTES_BYTES:
        raise ValueError(
            f"at most {MAX_ATTRIBUTES_BYTES} bytes of JSON are kept here ({size} sent): keep large "
            "documents elsewhere and store a reference to them"
        )
    return value


# For Pydantic schemas: ``occurred_at: Time | None``, ``name: Text``.
Time = Annotated[datetime, AfterValidator(storable_time)]
Day = Annotated[date, AfterValidator(storable_day)]
Text = Annotated[str, AfterValidator(storable_text)]
Attributes = Annotated[dict[str, Any], AfterValidator(bounded_attributes)]
