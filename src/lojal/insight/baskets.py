"""The club's baskets for the recommendations (``insight.recommend``): what each enrolled
member bought, by the club's local day.

One query (SQLAlchemy Core) over ``purchase_lines`` and their ``purchases``: the member, the
local day of the purchase (``lojal.calendar.local_day`` in the club's zone, as in
``insight.history``: several receipts on one day are one basket), and the item — the line's
sku, or its category (a line with no category is left out then). Returns are not subtracted: a
returned item was still chosen. The items' names and categories come along for the answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

from sqlalchemy import BigInteger, Connection, String, column, select, table
from sqlalchemy.orm import Session

from lojal.calendar import local_day, local_midnight
from lojal.db.types import UTCDateTime
from lojal.insight.recommend import Baskets

Level = Literal["sku", "category"]

_purchases = table(
    "purchases",
    column("id", BigInteger()),
    column("member_id", BigInteger()),
    column("occurred_at", UTCDateTime()),
)
_lines = table(
    "purchase_lines",
    column("purchase_id", BigInteger()),
    column("sku", String()),
    column("name", String()),
    column("category", String()),
)
_BUCKET = 900  # see insight.history: a UTC quarter hour is on one local day


@dataclass(frozen=True)
class ClubBaskets:
    baskets: Baskets
    # each item's name and category (the last seen)
    names: dict[str, tuple[str | None, str | None]]


def club_baskets(
    db: Session | Connection,
    *,
    zone: tzinfo,
    until: date | None = None,
    since: date | None = None,
    member_id: int | None = None,
    level: Level = "sku",
) -> ClubBaskets:
    """Every enrolled member's items by local day, from ``since`` to ``until`` (both included;
    all when None), or one member's."""
    p, line = _purchases.c, _lines.c
    query = (
        select(p.member_id, p.occurred_at, line.sku, line.name, line.category)
        .select_from(_lines.join(_purchases, p.id == line.purchase_id))
        .where(p.member_id.is_not(None))
    )
    if member_id is not None:
        query = query.where(p.member_id == member_id)
    if until is not None:
        query = query.where(p.occurred_at < local_midnight(until + timedelta(1), zone))
    if since is not None:
        query = query.where(p.occurred_at >= local_midnight(since, zone))
    members: list[int] = []
    days: list[int] = []
    keys: list[str] = []
    names: dict[str, tuple[str | None, str | None]] = {}
    day_of_bucket: dict[int, int] = {}
    for owner, occurred_at, sku, name, category in db.execute(query):
        key = sku if level == "sku" else category
        if key is None:
            continue
        bucket = int(occurred_at.timestamp()) // _BUCKET
        day = day_of_bucket.get(bucket)
        if day is None:
            start = datetime.fromtimestamp(bucket * _BUCKET, UTC)
            day = day_of_bucket[bucket] = local_day(start, zone).toordinal()
        members.append(owner)
        days.append(day)
        keys.append(key)
        names[key] = (name, category) if level == "sku" else (category, category)
    return ClubBaskets(Baskets.of(members, days, keys), names)
