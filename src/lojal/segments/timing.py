"""A definition's days in the club's time zone (pure, over ``lojal.calendar``): windows as UTC
instants, birthdays and anniversaries. Both readers (SQL and in memory) take their bounds
from here, so they agree on every boundary."""

from __future__ import annotations

import calendar as stdlib_calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from lojal.calendar import local_day, local_midnight
from lojal.segments.definition import Days, DayWindow


@dataclass(frozen=True, slots=True)
class Bounds:
    """A half-open ``[start, end)`` of UTC instants; None is open on that side."""

    start: datetime | None
    end: datetime | None

    def holds(self, at: datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


def local_dates(window: DayWindow, now: datetime, zone: tzinfo) -> tuple[date | None, date | None]:
    """The first and last local day of the window, both included (None: open)."""
    today = local_day(now, zone)
    if window.last_days is not None:
        return today - timedelta(days=window.last_days - 1), today
    if window.days_ago is not None:
        fewest, most = window.days_ago
        return (None if most is None else today - timedelta(days=most)), today - timedelta(
            days=fewest
        )
    return window.from_, window.until


def bounds(window: DayWindow, now: datetime, zone: tzinfo) -> Bounds:
    """The window's UTC instants: from the local midnight of its first day to the local
    midnight after its last."""
    first, last = local_dates(window, now, zone)
    return Bounds(
        None if first is None else local_midnight(first, zone),
        None if last is None else local_midnight(last + timedelta(days=1), zone),
    )


def days(spec: Days, now: datetime, zone: tzinfo) -> list[date]:
    """The local days ``in_days`` names, from today."""
    today = local_day(now, zone)
    low, high = spec.in_days
    return [today + timedelta(days=n) for n in range(low, high + 1)]


def celebrated(day: date, year: int) -> date:
    """The day a birthday (or anniversary) falls on in ``year``: 29 February is celebrated on
    28 February in a year without one."""
    if day.month == 2 and day.day == 29 and not stdlib_calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, day.month, day.day)


def birthday_month_days(window: list[date]) -> list[str]:
    """The ``MM-DD`` of the birth dates whose birthday is in ``window`` (``02-29`` too when the
    window has a 28 February of a year without a 29th)."""
    out = {f"{d.month:02d}-{d.day:02d}" for d in window}
    if any(d.month == 2 and d.day == 28 and not stdlib_calendar.isleap(d.year) for d in window):
        out.add("02-29")
    return sorted(out)


def anniversary_dates(window: list[date], first_year: int) -> Iterator[date]:
    """The local enrolment dates (from ``first_year`` on) whose anniversary, one year or more
    later, falls on a day of ``window``."""
    for day in window:
        for year in range(first_year, day.year):
            if day.month == 2 and day.day == 29:
                if stdlib_calendar.isleap(year):
                    yield date(year, 2, 29)
                continue
            yield date(year, day.month, day.day)
            moved = day.month == 2 and day.day == 28 and not stdlib_calendar.isleap(day.year)
            if moved and stdlib_calendar.isleap(year):
                yield date(year, 2, 29)


def anniversary_ranges(window: list[date], first_year: int, zone: tzinfo) -> list[Bounds]:
    """``anniversary_dates`` as UTC ranges of enrolment instants, consecutive days merged."""
    dates = sorted(set(anniversary_dates(window, first_year)))
    out: list[Bounds] = []
    start = previous = None
    for day in dates:
        if previous is not None and day == previous + timedelta(days=1):
            previous = day
            continue
        if start is not None and previous is not None:
            out.append(
                Bounds(
                    local_midnight(start, zone), local_midnight(previous + timedelta(days=1), zone)
                )
            )
        start = previous = day
    if start is not None and previous is not None:
        out.append(
            Bounds(local_midnight(start, zone), local_midnight(previous + timedelta(days=1), zone))
        )
    return out


def is_birthday(birth: date, window: list[date]) -> bool:
    return any(celebrated(birth, day.year) == day for day in window)


def is_anniversary(enrolled: date, window: list[date]) -> bool:
    return any(day.year > enrolled.year and celebrated(enrolled, day.year) == day for day in window)
