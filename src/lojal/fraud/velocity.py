"""Velocity limits, pure: what a member has earned or spent in the last hour and the last 24
hours (rolling windows ending now), and the first limit an operation would break.

A limit ``count`` is broken by the operation that would be the count+1-th in the window; a
limit ``points`` by the one that would take the window's points past it. The read of what
is already in the window is the caller's (``lojal.fraud.guards``: one indexed query per
spend or per batch of purchases, and only when a limit is configured).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lojal.fraud.schemas import Velocity, Window

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(slots=True)
class Used:
    """What is in the windows: operations and points in the last hour and day."""

    hour_count: int = 0
    hour_points: int = 0
    day_count: int = 0
    day_points: int = 0


def broken(
    limits: Velocity, used: Used, points: int, *, in_hour: bool = True, section: str
) -> str | None:
    """The name and wording of the first limit one more operation of ``points`` breaks, or
    None. ``in_hour``: whether the operation falls in the last hour (a purchase dated earlier
    today counts only for the day)."""
    windows: list[tuple[str, Window, int, int]] = []
    if in_hour:
        windows.append(("per_hour", limits.per_hour, used.hour_count, used.hour_points))
    windows.append(("per_day", limits.per_day, used.day_count, used.day_points))
    for name, window, count, total in windows:
        span = "an hour" if name == "per_hour" else "a day"
        if window.count is not None and count + 1 > window.count:
            return f"{section}.{name}.count: at most {window.count} {span}"
        if window.points is not None and total + points > window.points:
            return f"{section}.{name}.points: at most {window.points} points {span}"
    return None


def add(used: Used, points: int, *, in_hour: bool) -> None:
    used.day_count += 1
    used.day_points += points
    if in_hour:
        used.hour_count += 1
        used.hour_points += points


class EarnWindow:
    """The earn limits over a batch of purchases, in order: each purchase is checked against
    what the database held and the batch's purchases before it."""

    def __init__(self, limits: Velocity, now: datetime, used: dict[int, Used]) -> None:
        self.limits = limits
        self.now = now
        self.used = used

    def take(self, member_id: int, occurred_at: datetime, points: int) -> str | None:
        """The limit this purchase breaks (its points are then held), or None. A purchase
        dated before the last 24 hours is in no window."""
        if occurred_at < self.now - DAY:
            return None
        in_hour = occurred_at >= self.now - HOUR
        used = self.used.setdefault(member_id, Used())
        limit = broken(self.limits, used, points, in_hour=in_hour, section="fraud.earn_limits")
        add(used, points, in_hour=in_hour)
        return limit
