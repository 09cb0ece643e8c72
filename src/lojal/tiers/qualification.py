"""How tiers are won and lost: pure. Times and totals in, ranks, windows and dates out.

Levels and ranks
----------------
The programme lists its tiers from the lowest to the highest, each with a ``threshold``: money
spent (minor units) or points earned within the qualification window. A tier's *rank* is its
position in that list; ``NO_TIER`` (-1) is no tier at all. A member *qualifies* for the highest
tier whose threshold their total reaches; when the lowest tier's threshold is 0 every member is
at least in it, otherwise a member below it has no tier.

Windows
-------
Every window is a half-open interval ``[start, end)`` of UTC instants (``end`` None: open),
computed in the club's time zone:

* ``calendar_year``: a local calendar year, 1 January 00:00 to the next 1 January 00:00.
* ``rolling_12_months``: the 12 months *up to and including* an instant ``t``, i.e.
  ``(t − 12 months, t]``, written ``[t − 12 months + 1 µs, t + 1 µs)`` (storage keeps
  microseconds on both databases).

A tier *period* starts when the member gets the tier (by an upgrade, a downgrade or a staff
decision) and ends at the next review:

* ``calendar_year``: at the end of the local year in which it started. The review looks at the
  calendar year that just ended. So a tier won in 2026 is reviewed on 1 January 2027 against
  2026 — which it reached, so it is kept — and again on 1 January 2028 against 2027: a tier
  won in a year is held through the following year.
* ``rolling_12_months``: 12 months after it started. The review looks at the 12 months ending
  at the review, i.e. what the member did *during* the tier period.

At a review the member keeps the tier when the period's total reaches its threshold. Otherwise
they fall to the tier that total qualifies for — but never more than ``max_levels`` below the
tier they had — either at once or, with a grace period, at its end (unless they reach the
threshold again during the grace period, which keeps the tier for a new period).

Upgrades are not reviews: after every purchase the member's total in the *current* window
(``current_window``) is compared with the thresholds, and a higher tier is given at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from lojal import calendar as club_calendar

Period = Literal["rolling_12_months", "calendar_year"]
NO_TIER = -1
TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Window:
    """Activity with ``start <= occurred_at < end`` counts (``end`` None: no upper bound)."""

    start: datetime
    end: datetime | None

    def contains(self, at: datetime) -> bool:
        return at >= self.start and (self.end is None or at < self.end)


def add_months(at: datetime, months: int, timezone: str) -> datetime:
    """``at`` moved by whole months on the club's wall clock (31 January + 1 month is the last
    day of February), as a UTC instant."""
    return club_calendar.shift_months(at, months, ZoneInfo(timezone))


def add_days(at: datetime, days: int, timezone: str) -> datetime:
    """``at`` moved by whole days on the club's wall clock (a grace period of 90 days ends at
    the same local time of day, whatever daylight saving did meanwhile)."""
    return club_calendar.shift_days(at, days, ZoneInfo(timezone))


def year_start(at: datetime, timezone: str, *, years: int = 0) -> datetime:
    """The first instant of the local calendar year of ``at`` (moved by ``years``), in UTC."""
    zone = ZoneInfo(timezone)
    year = club_calendar.local_day(at, zone).year + years
    return club_calendar.local_midnight(date(year, 1, 1), zone)


def current_window(period: Period, at: datetime, timezone: str) -> Window:
    """What counts towards an upgrade at ``at``: the calendar year of ``at``, or the 12 months
    up to ``at`` (and anything dated after it, a till whose clock runs ahead)."""
    if period == "calendar_year":
        return Window(year_start(at, timezone), year_start(at, timezone, years=1))
    return Window(add_months(at, -12, timezone) + TICK, None)


def window_until(period: Period, at: datetime, timezone: str) -> Window:
    """The current window as it stands at ``at``: only activity up to and including ``at``."""
    return Window(current_window(period, at, timezone).start, at + TICK)


def period_window(period: Period, review_at: datetime, timezone: str) -> Window:
    """The qualification period a review at ``review_at`` looks at: the calendar year that
    ends there, or the 12 months up to it."""
    if period == "calendar_year":
        return Window(year_start(review_at - TICK, timezone), review_at)
    return window_until(period, review_at, timezone)


def period_end(period: Period, start: datetime, timezone: str) -> datetime:
    """When a tier period that starts at ``start`` ends (and is reviewed)."""
    if period == "calendar_year":
        return year_start(start, timezone, years=1)
    return add_months(start, 12, timezone)


def qualified_rank(thresholds: Sequence[int], total: int) -> int:
    """The rank of the highest tier whose threshold ``total`` reaches (``NO_TIER`` if none).
    ``thresholds`` are strictly increasing."""
    rank = NO_TIER
    for i, threshold in enumerate(thresholds):
        if total >= threshold:
            rank = i
        else:
            break
    return rank


def downgrade_target(current: int, qualified: int, max_levels: int | None) -> int:
    """The rank a review gives a member who had ``current`` and qualified for ``qualified``:
    at least what they qualify for, never more than ``max_levels`` below ``current``."""
    if qualified >= current:
        return qualified
    if max_levels is None:
        return qualified
    return max(qualified, current - max_levels)


def remaining(threshold: int, total: int) -> int:
    """How much is still needed to reach ``threshold`` (0 when reached)."""
    return max(0, threshold - total)
