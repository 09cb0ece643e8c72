"""The club's purchase history as the arrays the insight models take.

The one module of ``insight`` that reads the database (SQLAlchemy Core, one query, no ORM
objects): the purchases of enrolled members (``purchases.member_id``, ``occurred_at``,
``total_minor``), dated by the club's calendar (``lojal.calendar.local_day`` in the club's
time zone), so that two purchases on the same local day are one transaction even when they
fall on two UTC dates. Values are gross purchase totals in minor units of the club's currency,
as stored; returns are not subtracted (a return does not undo the visit, and the models
describe visits and the value of a visit).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

import numpy as np
from sqlalchemy import BigInteger, Connection, column, select, table
from sqlalchemy.orm import Session

from lojal.calendar import local_day, local_midnight
from lojal.db.types import UTCDateTime
from lojal.insight.summary import WEEK, Holdout, Summary, Transactions, holdout, summarise

_purchases = table(
    "purchases",
    column("member_id", BigInteger()),
    column("occurred_at", UTCDateTime()),
    column("total_minor", BigInteger()),
)

# Local days are looked up once per quarter hour of UTC: every zone in use today is a whole
# number of quarter hours from UTC and changes its offset on a quarter hour, so all instants
# of one UTC quarter hour fall on the same local day.
_BUCKET = 900


def purchase_history(
    db: Session | Connection, *, zone: tzinfo, until: date | None = None
) -> Transactions:
    """Every enrolled member's purchases up to the local day ``until`` (included; all when
    None), one transaction per member and local day."""
    query = select(_purchases.c.member_id, _purchases.c.occurred_at, _purchases.c.total_minor)
    query = query.where(_purchases.c.member_id.is_not(None))
    if until is not None:
        query = query.where(_purchases.c.occurred_at < local_midnight(until + timedelta(1), zone))
    members: list[int] = []
    days: list[int] = []
    values: list[int] = []
    day_of_bucket: dict[int, int] = {}
    for member_id, occurred_at, total_minor in db.execute(query):
        bucket = int(occurred_at.timestamp()) // _BUCKET
        day = day_of_bucket.get(bucket)
        if day is None:
            start = datetime.fromtimestamp(bucket * _BUCKET, UTC)
            day = day_of_bucket[bucket] = local_day(start, zone).toordinal()
        members.append(member_id)
        days.append(day)
        values.append(total_minor)
    return Transactions.collapse(
        np.asarray(members, dtype=np.int64),
        np.asarray(days, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
    )


def member_summary(
    db: Session | Connection, *, calibration_end: date, zone: tzinfo, unit_days: float = WEEK
) -> Summary:
    """Each member's ``(x, t_x, T, monetary)`` and totals at the end of the local day
    ``calibration_end``."""
    transactions = purchase_history(db, zone=zone, until=calibration_end)
    return summarise(transactions, calibration_end=calibration_end, unit_days=unit_days)


def calibration_and_holdout(
    db: Session | Connection,
    *,
    calibration_end: date,
    holdout_end: date,
    zone: tzinfo,
    unit_days: float = WEEK,
) -> tuple[Summary, Holdout]:
    """The summary at ``calibration_end`` and what the same members did after it, up to the
    local day ``holdout_end`` (for ``backtest.backtest``)."""
    transactions = purchase_history(db, zone=zone, until=holdout_end)
    summary = summarise(transactions, calibration_end=calibration_end, unit_days=unit_days)
    return summary, holdout(summary, transactions, end=holdout_end)
