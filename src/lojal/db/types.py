"""Portable column types.

* ``UTCDateTime`` stores UTC: ``timestamptz`` on PostgreSQL, naive UTC text on SQLite; values
  always come back timezone-aware in UTC.
* ``JSONType`` is JSONB on PostgreSQL and JSON (text) on SQLite.
* ``BigIntId`` is BIGINT on PostgreSQL and INTEGER on SQLite (so that it aliases the rowid).
* ``Amount`` (money in minor units, points) is a 64-bit integer on both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

JSONType = JSON().with_variant(JSONB(), "postgresql")
BigIntId = BigInteger().with_variant(Integer(), "sqlite")
# Money in minor units and points: 64-bit everywhere.
Amount = BigInteger()


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
