"""When a purchase, return or event may say it happened (``occurred_at``), and when the points
of a late one become spendable.

A till, a web shop or an app (a *channel* key: scopes ``pos``, ``integration``) reports what
happens as it happens. It may be a little late — a till that was offline, a shop that sends
its orders every night — so it may date an activity up to the programme's
``max_backdate_days`` (default 3) before now. Older history is the club's own business: it
comes through ``lojal import purchases`` or an admin key (*trusted*), which may date back to
1900. Nobody may date an activity in the future, beyond five minutes of clock skew between
the sender's clock and lojal's.

Why it matters: points wait out the pending period (the return window) before they can be
spent. If a channel could say "this purchase was 20 days ago", its points would be spendable
at once, the member could spend them and return the goods, and the club would lose them
(``points_unrecovered``). So the pending period of a channel's purchase runs from when lojal
learned of it, whatever date it carries (``pending_starts``): a late purchase still waits the
full return window. History from the import or an admin key keeps its own dates (its points
were pending long ago, on purpose).

These functions are pure: the API and the importer call them with the programme's setting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum

from lojal.inputs import EARLIEST

# How far ahead of lojal's clock a sender's clock may be.
CLOCK_SKEW = timedelta(minutes=5)


class Sender(Enum):
    """Who sends an activity to the services, for the date rule."""

    CHANNEL = "channel"  # a till, web shop or app key: a few days back at most
    ADMIN = "admin"  # an admin key: history back to 1900
    # lojal's own callers (the import, the CLI, the demo, tests) check the dates they read
    # with ``refusal`` themselves, row by row, and pass them on as they are
    INTERNAL = "internal"

    @property
    def trusted(self) -> bool:
        return self is not Sender.CHANNEL


def refusal(
    occurred_at: datetime,
    *,
    now: datetime,
    trusted: bool,
    max_backdate_days: int,
    what: str = "a purchase",
) -> str | None:
    """Why ``occurred_at`` may not be the date of ``what`` sent at ``now``, or ``None``.

    ``trusted``: an admin key or the admin import (history back to 1900); otherwise a channel
    key, which may date back at most ``max_backdate_days``."""
    if occurred_at > now + CLOCK_SKEW:
        return (
            f"{what} may be dated at most 5 minutes ahead of lojal's clock "
            f"({_time(now)}), not {_time(occurred_at)}; check the sender's clock"
        )
    if trusted:
        if occurred_at < EARLIEST:
            return f"{what} may be dated back to 1900-01-01 at the earliest"
        return None
    if occurred_at < now - timedelta(days=max_backdate_days):
        days = "day" if max_backdate_days == 1 else "days"
        return (
            f"a till, web shop or app may date {what} at most {max_backdate_days} {days} back "
            f"({_time(occurred_at)} is {_ago(now - occurred_at)} ago); send older history "
            "through the admin import (lojal import) or with an admin key"
        )
    return None


def sender_refusal(
    occurred_at: datetime,
    *,
    now: datetime,
    sender: Sender,
    max_backdate_days: int,
    what: str = "a purchase",
) -> str | None:
    """``refusal`` for what ``sender`` sent (nothing for lojal's own callers)."""
    if sender is Sender.INTERNAL:
        return None
    return refusal(
        occurred_at,
        now=now,
        trusted=sender.trusted,
        max_backdate_days=max_backdate_days,
        what=what,
    )


def pending_starts(occurred_at: datetime, *, recorded_at: datetime, trusted: bool) -> datetime:
    """When the pending period of points earned by an activity dated ``occurred_at`` and
    recorded at ``recorded_at`` begins: when lojal learned of it (if later) for a channel's
    activity, its own date for history."""
    return occurred_at if trusted else max(occurred_at, recorded_at)


def _time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ago(delta: timedelta) -> str:
    if delta >= timedelta(days=2):
        return f"{delta.days} days"
    hours = int(delta.total_seconds() // 3600)
    return f"{hours} hours"
