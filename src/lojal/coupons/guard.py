"""The brute-force guard: wrong codes from one caller are slowed, then refused for a while.

A caller is seen twice: by its API key (``key:<id>``) and by its client address
(``addr:<ip>``). Each has a row in ``coupon_attempts`` counting its wrong codes (unknown or
mistyped — not a real code that does not apply) in a window of ``WINDOW``:

* after ``slow_after`` wrong codes, each further try must wait ``2**(n - slow_after)`` seconds
  (at most ``MAX_DELAY``) after the last wrong one; a try before that is refused with
  ``TooManyAttempts`` (HTTP 429) and ``Retry-After``, and is not looked at;
* after ``block_after`` wrong codes the caller is refused for ``BLOCK_FOR``.

An API key serves many people (a web shop's key carries all its customers), so its limits are
ten times an address's. A blocked caller is refused even for a right code: otherwise the guard
would tell a guesser which guesses are right.

Why this shape (see also docs/architecture.md): the counters live in the database so that every
server process shares them, but only a *wrong* code writes. A right code — nearly all of a
till's traffic — costs one read of two primary keys and no write, so validations do not queue
for SQLite's write lock nor contend for a row on PostgreSQL. A guesser writes at most
``block_after`` rows' worth of updates per window before every further try is refused on the
read alone. Wrong codes are written through the writer (one transaction for many), as an
atomic ``INSERT … ON CONFLICT DO UPDATE`` so that processes never lose a count.

``Tally`` counts validations per campaign in memory and writes the sums at most once a second
(the per-campaign report's ``validations``): a figure for marketing that may lose the last
second's count if a process dies, rather than a write per validation.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from lojal.coupons.errors import TooManyAttempts, WrongCode
from lojal.db.driver import Driver

WINDOW = timedelta(minutes=15)
BLOCK_FOR = timedelta(minutes=15)
MAX_DELAY = 60

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Policy:
    slow_after: int
    block_after: int


ADDRESS = Policy(slow_after=5, block_after=20)
API_KEY = Policy(slow_after=50, block_after=200)


@dataclass(frozen=True, slots=True)
class Caller:
    key_id: int | None
    address: str | None

    def subjects(self) -> list[tuple[str, Policy]]:
        out: list[tuple[str, Policy]] = []
        if self.key_id is not None:
            out.append((f"key:{self.key_id}", API_KEY))
        if self.address:
            out.append((f"addr:{self.address[:90]}", ADDRESS))
        return out


def admit(session: Session, caller: Caller, now: datetime) -> None:
    """Refuse (``TooManyAttempts``) a caller that must wait; a read, never a write."""
    subjects = caller.subjects()
    if not subjects:
        return
    db = Driver.of(session, flush=False)
    policy = dict(subjects)
    marks = ", ".join("?" * len(subjects))
    wait = 0.0
    for subject, failures, started, last, blocked in db.all(
        "SELECT subject, failures, window_started_at, last_failed_at, blocked_until "
        f"FROM coupon_attempts WHERE subject IN ({marks})",
        [s for s, _ in subjects],
    ):
        if blocked is not None and db.read_time(blocked) > now:
            wait = max(wait, (db.read_time(blocked) - now).total_seconds())
            continue
        if db.read_time(started) <= now - WINDOW:
            continue
        over = int(failures) - policy[subject].slow_after
        if over >= 0:
            ready = db.read_time(last) + timedelta(seconds=min(2**over, MAX_DELAY))
            if ready > now:
                wait = max(wait, (ready - now).total_seconds())
    if wait > 0:
        seconds = math.ceil(wait)
        raise TooManyAttempts(
            f"too many wrong codes from this caller: try again in {seconds} s",
            retry_after=seconds,
        )


def record_failure(session: Session, caller: Caller, now: datetime) -> None:
    """Count one wrong code against each of the caller's subjects."""
    db = Driver.of(session, flush=False)
    at, window_start = db.time(now), db.time(now - WINDOW)
    for subject, policy in caller.subjects():
        row = db.one(
            "INSERT INTO coupon_attempts (subject, failures, window_started_at, last_failed_at) "
            "VALUES (?, 1, ?, ?) ON CONFLICT (subject) DO UPDATE SET "
            "failures = CASE WHEN coupon_attempts.window_started_at <= ? THEN 1 "
            "ELSE coupon_attempts.failures + 1 END, "
            "window_started_at = CASE WHEN coupon_attempts.window_started_at <= ? "
            "THEN excluded.window_started_at ELSE coupon_attempts.window_started_at END, "
            "last_failed_at = excluded.last_failed_at "
            "RETURNING failures",
            (subject, at, at, window_start, window_start),
        )
        if row is not None and int(row[0]) >= policy.block_after:
            db.execute(
                "UPDATE coupon_attempts SET blocked_until = ? WHERE subject = ?",
                (db.time(now + BLOCK_FOR), subject),
            ).close()


def guarded(
    session: Session, caller: Caller, now: datetime, work: Callable[[], T]
) -> T | WrongCode:
    """Run ``work`` in a savepoint; a wrong code is counted against the caller (outside the
    savepoint, so the count stays) and given back as a value for the caller to answer with."""
    try:
        with session.begin_nested():
            return work()
    except WrongCode as exc:
        record_failure(session, caller, now)
        return exc


class Tally:
    """Validations per campaign, summed in memory and written at most every ``every`` s."""

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self.counts: Counter[int] = Counter()
        self.written_at = time.monotonic()

    def add(self, campaign_id: int) -> None:
        self.counts[campaign_id] += 1

    def pending(self, campaign_id: int) -> int:
        return self.counts[campaign_id]

    def due(self) -> dict[int, int] | None:
        """The counts to write now (and forget), or None when it is not time yet."""
        now = time.monotonic()
        if not self.counts or now - self.written_at < self.every:
            return None
        counts, self.counts = dict(self.counts), Counter()
        self.written_at = now
        return counts


def write_tally(session: Session, counts: dict[int, int]) -> None:
    db = Driver.of(session, flush=False)
    db.many(
        "INSERT INTO coupon_campaign_stats (campaign_id, validations) "
        "SELECT id, ? FROM coupon_campaigns WHERE id = ? "
        "ON CONFLICT (campaign_id) DO UPDATE SET "
        "validations = coupon_campaign_stats.validations + excluded.validations",
        [(n, campaign_id) for campaign_id, n in sorted(counts.items())],
    )
