"""The club's calendar: pure date arithmetic for every feature that speaks of days, weeks,
months, quarters or years. Standard library only — no database, no web, no validation.

UTC in storage, the club's zone for the calendar
------------------------------------------------
Every stored moment is a UTC instant. A club lives on its own wall clock, though: "today",
"this week", "3 months later" and "the end of the month" are said in the club's time zone
(``ProgramConfig.timezone``, an IANA name such as ``Europe/Stockholm``). So every question
this module answers goes the same way:

1. **to the wall clock**: the instant is read in the club's zone (``local_day``, or
   ``at.astimezone(zone)``);
2. **on local dates**: the arithmetic is done on dates — the start of the week, the first
   of the next month, 31 January + 1 month — where there is no daylight saving at all;
3. **back to an instant**: the local date's midnight is converted with ``zoneinfo``
   (``local_midnight``) and compared or stored in UTC.

Periods and windows
-------------------
A *period* is ``day``, ``week`` (ISO: Monday to Sunday), ``month``, ``quarter`` (starting in
January, April, July and October) or ``year``. Its *window* for a moment is the half-open
interval ``[start, end)`` of UTC instants from the local midnight that starts the period to
the local midnight that starts the next one (``window``). Consecutive windows tile time: the
end of one is the start of the next, so every instant is in exactly one window.

Daylight saving
---------------
Because windows are computed on local wall dates and only then converted, a window is as
long as the wall clock says: the Stockholm day of 29 March 2026 (clocks go from 02:00 to
03:00) is 23 hours, that of 25 October 2026 is 25 hours; on Lord Howe Island, whose clocks
move by 30 minutes, such a day is 23½ or 24½ hours. Nothing here adds 24 hours to an instant.
Where a zone's midnight does not exist (a clock that jumps from 00:00 to 01:00) the day
starts at the first instant it has; where midnight happens twice, at the first of them.

Moving by months or days on the wall clock (``shift_months``, ``shift_days``) keeps the time
of day: a tier period that starts at 14:30 in winter ends at 14:30 in summer, whatever the
offset did meanwhile. Months clamp to the end of the month (``add_months``): 31 January + 1
month is 28 February (29 in a leap year), 31 March − 1 month is 28 or 29 February.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TypeVar

PERIODS = ("day", "week", "month", "quarter", "year")

D = TypeVar("D", bound=date)


# ---------------------------------------------------------------- instants and local days


def local_day(at: datetime, zone: tzinfo) -> date:
    """The date ``at`` falls on in the club's time zone."""
    return at.astimezone(zone).date()


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The UTC instant at which ``day`` begins in the club's time zone."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def day_window(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The [start, end) of the local ``day``, in UTC (23 or 25 hours across a change of
    daylight saving)."""
    return local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)


def days_between(start: date, end: date) -> int:
    """Whole days from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    return end.toordinal() - start.toordinal()


# ---------------------------------------------------------------- months


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def end_of_month(day: D) -> D:
    """The last day of ``day``'s month (a datetime keeps its time of day)."""
    return day.replace(day=days_in_month(day.year, day.month))


def add_months(value: D, months: int) -> D:
    """``value`` moved by whole calendar months, clamped to the end of the month: 31 January
    + 1 month is the last day of February. A datetime keeps its time of day, its tzinfo and
    its ``fold`` (it is moved on the wall clock it is read on)."""
    index = value.month - 1 + months
    year, month = value.year + index // 12, index % 12 + 1
    return value.replace(year=year, month=month, day=min(value.day, days_in_month(year, month)))


def month_start(value: D) -> D:
    """The first of ``value``'s month; a datetime goes to 00:00 on it (same tzinfo and fold)."""
    start = value.replace(day=1)
    if isinstance(start, datetime):
        return start.replace(hour=0, minute=0, second=0, microsecond=0)
    return start


# ---------------------------------------------------------------- periods on local dates


def period_start(period: str, day: date) -> date:
    """The first day of the ``period`` that contains ``day`` (weeks start on Monday)."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if period == "year":
        return date(day.year, 1, 1)
    raise ValueError(period)


def next_period_start(period: str, day: date) -> date:
    """The first day of the ``period`` after the one that contains ``day``."""
    start = period_start(period, day)
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return add_months(start, 1)
    if period == "quarter":
        return add_months(start, 3)
    return date(start.year + 1, 1, 1)


def period_index(period: str, day: date) -> int:
    """Consecutive periods have consecutive numbers: days and weeks (from Monday) since the
    proleptic 0001-01-01 (a Monday), months and quarters since year 0, years."""
    if period == "day":
        return day.toordinal()
    if period == "week":
        return (day.toordinal() - 1) // 7
    if period == "month":
        return day.year * 12 + day.month - 1
    if period == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    if period == "year":
        return day.year
    raise ValueError(period)


# ---------------------------------------------------------------- windows of instants


def window(period: str, at: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """The [start, end) in UTC of the calendar ``period`` that contains ``at`` in the club's
    time zone."""
    day = local_day(at, zone)
    start = period_start(period, day)
    return local_midnight(start, zone), local_midnight(next_period_start(period, start), zone)


# ---------------------------------------------------------------- moving on the wall clock


def shift_months(at: datetime, months: int, zone: tzinfo) -> datetime:
    """``at`` moved by whole months on the club's wall clock (same local time of day, the day
    clamped to the end of the month), as a UTC instant."""
    return add_months(at.astimezone(zone), months).astimezone(UTC)


def shift_days(at: datetime, days: int, zone: tzinfo) -> datetime:
    """``at`` moved by whole days on the club's wall clock (same local time of day, whatever
    daylight saving did meanwhile), as a UTC instant. A local time that happens twice is the
    first of them; one that does not exist is read with the offset before the change."""
    local = at.astimezone(zone)
    moved = local.replace(tzinfo=None) + timedelta(days=days)
    return moved.replace(tzinfo=local.tzinfo).astimezone(UTC)
