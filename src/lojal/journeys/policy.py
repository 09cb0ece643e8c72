"""Channel policies (pure): quiet hours in the club's time zone and frequency caps.

Quiet hours are a window of local wall-clock time, ``from`` included and ``until`` excluded,
that may pass midnight (``21:00``–``08:00``). A send due inside it waits until the window's
end, on that local day: across a change of daylight saving the end is still 08:00 on the
wall clock (``zoneinfo`` turns it into the right UTC instant), so a night is 7, 8 or 9 hours
long but always ends at the same local time.

A frequency cap counts the member's marketing messages on the channel over the last
``days`` days (any source: journeys or staff sends); transactional messages are never capped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def parse_hhmm(value: str) -> time:
    """``HH:MM`` (24 hours) as a time; ValueError names the problem."""
    match = _HHMM.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a time of day as HH:MM (00:00 to 23:59)")
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True, slots=True)
class Rules:
    """A channel's policy, as values."""

    cap_messages: int | None = None
    cap_days: int | None = None
    quiet_from: time | None = None
    quiet_until: time | None = None

    def quiet_end(self, now: datetime, zone: tzinfo) -> datetime | None:
        """When the quiet hours that ``now`` is in end (UTC); None when ``now`` is not in
        them."""
        if self.quiet_from is None or self.quiet_until is None:
            return None
        return quiet_end(now, zone, self.quiet_from, self.quiet_until)

    def cap_since(self, now: datetime) -> datetime | None:
        """The start of the cap's window, or None without a cap."""
        if self.cap_messages is None or self.cap_days is None:
            return None
        return now - timedelta(days=self.cap_days)

    def capped(self, sent: int) -> bool:
        return self.cap_messages is not None and sent >= self.cap_messages


def quiet_end(now: datetime, zone: tzinfo, start: time, end: time) -> datetime | None:
    local = now.astimezone(zone)
    at, today = local.time().replace(tzinfo=None), local.date()
    if start == end:
        return None
    if start < end:
        inside = start <= at < end
        day = today
    elif at >= start:
        inside, day = True, today + timedelta(days=1)
    else:
        inside, day = at < end, today
    if not inside:
        return None
    return datetime.combine(day, end, tzinfo=zone).astimezone(now.tzinfo)
