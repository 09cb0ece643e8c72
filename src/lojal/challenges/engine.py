"""The challenge engine: pure. A challenge's definition, a member's progress and one activity
in; the facts to store and, when the goal is reached, a completion out. No database here: the
service loads progress for a whole batch, runs the engine and writes what it says.

Terms:

* an **activity** is a purchase or an event of a member; a challenge **counts** it when it
  matches the challenge's condition (``Matcher``, in ``lojal.challenges.matching``), giving
  values (``distinct``: the values of the goal's field) and an amount (``sum``: the field
  added up; otherwise 1);
* an **attempt** is one run at the goal, in one **window** (``Spec.window_for``): the
  campaign, the calendar period of the attempt's first activity, or N days from it. An
  attempt whose window has passed unfinished **lapses**; the next activity starts a new one;
* the goal is met when the attempt's **progress** reaches the target: the number of
  activities (``count``), of distinct values (``distinct``), the sum (``sum``), or the
  longest run of consecutive periods with activity (``streak``);
* a completed attempt is followed by a new one only when the challenge is repeatable and the
  cap is not reached; a calendar challenge is completed at most once per period, and a new
  streak starts in the period after the one that completed the last.

Activity counts toward the member's current attempt only: activity older than the attempt's
window, or older than the last completion (a till that syncs late), does not reopen the past.
The service feeds a batch's activity in time order, so that a batch gives what recording the
activity one at a time gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from lojal import calendar as club_calendar

# ---------------------------------------------------------------- periods and windows


def calendar_window(period: str, at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The [start, end) of the calendar ``period`` (day, week, month, quarter, year) that
    contains ``at``, in the club's time zone; weeks start on Monday."""
    return club_calendar.window(period, at, zone)


def period_number(period: str, at: datetime, zone: ZoneInfo) -> int:
    """Consecutive periods have consecutive numbers: days and weeks (from Monday) since the
    proleptic 0001-01-01 (a Monday), months since year 0 — all in the club's time zone."""
    return club_calendar.period_index(period, club_calendar.local_day(at, zone))


def run_through(periods: set[int], number: int) -> int:
    """The length of the run of consecutive periods in ``periods`` that contains ``number``."""
    if number not in periods:
        return 0
    low = number
    while low - 1 in periods:
        low -= 1
    high = number
    while high + 1 in periods:
        high += 1
    return high - low + 1


def longest_run(periods: Iterable[int]) -> int:
    present = set(periods)
    best = 0
    for number in present:
        if number - 1 not in present:  # the start of a run
            length = 1
            while number + length in present:
                length += 1
            best = max(best, length)
    return best


def current_run(periods: set[int], now_number: int) -> int:
    """The streak as it stands at period ``now_number``: the run that ends in this period or
    the one before (still alive); 0 when the last period with activity is further back."""
    if not periods:
        return 0
    last = max(periods)
    return run_through(periods, last) if last >= now_number - 1 else 0


# ---------------------------------------------------------------- the compiled challenge


@dataclass(frozen=True, slots=True)
class Spec:
    """What the engine needs of a challenge, its run's bounds resolved to UTC."""

    id: int
    code: str
    goal: str
    target: int
    streak_period: str | None
    window_kind: str
    window_period: str | None
    window_days: int | None
    runs_from: datetime | None
    runs_until: datetime | None
    repeatable: bool
    max_completions: int | None
    tiers: frozenset[str] | None
    zone: ZoneInfo

    def running_at(self, at: datetime) -> bool:
        if self.runs_from is None or at < self.runs_from:
            return False  # a draft has no start yet
        return self.runs_until is None or at < self.runs_until

    def eligible(self, tier: str | None) -> bool:
        return self.tiers is None or (tier is not None and tier in self.tiers)

    def period_of(self, at: datetime) -> int:
        assert self.streak_period is not None
        return period_number(self.streak_period, at, self.zone)

    def _clip(self, start: datetime | None, end: datetime | None) -> tuple[Any, Any]:
        if self.runs_from is not None and (start is None or start < self.runs_from):
            start = self.runs_from
        if self.runs_until is not None and (end is None or end > self.runs_until):
            end = self.runs_until
        return start, end

    def window_for(self, at: datetime) -> tuple[datetime | None, datetime | None]:
        """The window of an attempt whose first activity is at ``at``."""
        if self.window_kind == "calendar":
            assert self.window_period is not None
            return self._clip(*calendar_window(self.window_period, at, self.zone))
        if self.window_kind == "rolling":
            assert self.window_days is not None
            return self._clip(at, at + timedelta(days=self.window_days))
        return self._clip(self.runs_from, self.runs_until)

    def calendar_window_at(self, at: datetime) -> tuple[datetime | None, datetime | None]:
        assert self.window_period is not None
        return self._clip(*calendar_window(self.window_period, at, self.zone))


# ---------------------------------------------------------------- a member's progress


@dataclass(slots=True)
class Progress:
    """A member's standing in one challenge (one row of ``challenge_progress``)."""

    attempt: int = 1  # the number of the current attempt, or of the next one when idle
    state: str = "idle"  # idle: no attempt under way; active; done: no attempt ever again
    window_start: datetime | None = None
    window_end: datetime | None = None
    progress: int = 0
    started_at: datetime | None = None
    last_activity_at: datetime | None = None
    completions: int = 0
    last_completed_at: datetime | None = None
    last_window_end: datetime | None = None  # the window of the last completed attempt
    values: set[str] = field(default_factory=set)  # distinct: the attempt's values
    periods: set[int] = field(default_factory=set)  # streak: the attempt's periods

    def _reset(self) -> None:
        self.window_start = self.window_end = None
        self.progress = 0
        self.started_at = None
        self.values = set()
        self.periods = set()

    def lapse(self) -> None:
        self.attempt += 1
        self.state = "idle"
        self._reset()


@dataclass(frozen=True, slots=True)
class Counted:
    """One activity as a challenge counts it."""

    source: str  # purchase | event
    source_id: int  # the purchase's or event's row id: the natural key of what is counted
    member_id: int
    occurred_at: datetime
    values: tuple[str, ...]  # distinct: the activity's values; otherwise ("",)
    amount: int  # sum: the amount; otherwise 1


@dataclass(frozen=True, slots=True)
class Fact:
    """What is stored of a counted activity (one row of ``challenge_facts``)."""

    attempt: int
    value: str
    amount: int
    period: int | None


@dataclass(frozen=True, slots=True)
class Completion:
    attempt: int
    completed_at: datetime
    window_start: datetime | None
    window_end: datetime | None


def _may_start(spec: Spec, progress: Progress, at: datetime) -> bool:
    if progress.last_completed_at is not None:
        if at < progress.last_completed_at:
            return False
        last_window_end = progress.last_window_end
        if spec.window_kind == "calendar" and last_window_end is not None and at < last_window_end:
            return False  # once per calendar period
        if spec.goal == "streak" and spec.period_of(at) <= spec.period_of(
            progress.last_completed_at
        ):
            return False  # a new streak starts in the period after the last one's end
    return True


def advance(
    spec: Spec, progress: Progress, counted: Counted
) -> tuple[list[Fact], Completion | None]:
    """Count one activity into ``progress`` (changed in place): the facts to store, and the
    completion when the goal was reached."""
    at = counted.occurred_at
    if progress.state == "done" or not spec.running_at(at):
        return [], None
    if progress.state == "active" and progress.window_end is not None and at >= progress.window_end:
        progress.lapse()
    if progress.state == "active":
        if progress.window_start is not None and at < progress.window_start:
            return [], None
    else:
        if not _may_start(spec, progress, at):
            return [], None
        progress.window_start, progress.window_end = spec.window_for(at)
        progress.state = "active"
        progress.started_at = at
    period = spec.period_of(at) if spec.goal == "streak" else None
    facts = [Fact(progress.attempt, value, counted.amount, period) for value in counted.values]
    if spec.goal == "count":
        progress.progress += 1
    elif spec.goal == "sum":
        progress.progress += counted.amount
    elif spec.goal == "distinct":
        progress.values.update(counted.values)
        progress.progress = len(progress.values)
    else:
        assert period is not None
        progress.periods.add(period)
        progress.progress = max(progress.progress, run_through(progress.periods, period))
    if progress.last_activity_at is None or at > progress.last_activity_at:
        progress.last_activity_at = at
    if progress.progress < spec.target:
        return facts, None
    completion = Completion(progress.attempt, at, progress.window_start, progress.window_end)
    progress.completions += 1
    progress.last_completed_at = at
    progress.last_window_end = progress.window_end
    more = spec.repeatable and (
        spec.max_completions is None or progress.completions < spec.max_completions
    )
    progress.attempt += 1
    progress._reset()
    progress.state = "idle" if more else "done"
    return facts, completion


def measure(goal: str, facts: Iterable[Fact]) -> int:
    """An attempt's progress recomputed from its stored facts (after a return took some)."""
    rows = list(facts)
    if goal == "count":
        return len(rows)
    if goal == "sum":
        return sum(fact.amount for fact in rows)
    if goal == "distinct":
        return len({fact.value for fact in rows})
    return longest_run(fact.period for fact in rows if fact.period is not None)


# ---------------------------------------------------------------- what a member sees


ViewStatus = Literal["not_started", "in_progress", "completed"]


@dataclass(frozen=True, slots=True)
class View:
    status: ViewStatus
    progress: int
    values: list[str] | None
    streak: int | None
    window_start: datetime | None
    window_end: datetime | None


def view(spec: Spec, progress: Progress | None, now: datetime) -> View:
    """Where a member stands at ``now``: an attempt whose window has passed has lapsed, and a
    calendar challenge shows the current period."""
    p = progress or Progress()
    values: list[str] | None = [] if spec.goal == "distinct" else None
    streak: int | None = 0 if spec.goal == "streak" else None
    if p.state == "done":
        return View("completed", spec.target, values, streak, None, p.last_window_end)
    lapsed = p.state == "active" and p.window_end is not None and now >= p.window_end
    if p.state == "active" and not lapsed:
        if values is not None:
            values = sorted(p.values)
        if streak is not None:
            streak = current_run(p.periods, spec.period_of(now))
        return View("in_progress", p.progress, values, streak, p.window_start, p.window_end)
    if spec.window_kind == "calendar":
        start, end = spec.calendar_window_at(now)
        if p.last_window_end is not None and now < p.last_window_end:
            return View("completed", spec.target, values, streak, start, end)
        return View("not_started", 0, values, streak, start, end)
    if spec.window_kind == "rolling":
        return View("not_started", 0, values, streak, None, None)
    return View("not_started", 0, values, streak, *spec.window_for(now))
