"""The challenge engine on its own (no database): calendar windows and streak periods in the
club's time zone, attempts, lapses, completions and repeats, and what a purchase or event
counts — with hypothesis comparing streaks over random timelines with a plain reference."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lojal.activities.events import EventRecorded, LineFacts, PurchaseRecorded
from lojal.challenges.engine import (
    Counted,
    Progress,
    Spec,
    advance,
    calendar_window,
    current_run,
    longest_run,
    period_number,
    view,
)
from lojal.challenges.matching import MemberView, PurchaseScope, compile_challenge, event_context
from lojal.challenges.schemas import ChallengeDefinition

TZ = "Europe/Stockholm"
ZONE = ZoneInfo(TZ)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
MEMBER = MemberView(1, "active", None, "store", {})


def challenge(
    runs_from: datetime | None = START, runs_until: datetime | None = None, **definition: Any
) -> Any:
    data: dict[str, Any] = {
        "code": "c",
        "name": "C",
        "goal": {"kind": "count", "target": 3},
        "reward": {"points": 10},
        **definition,
    }
    return compile_challenge(
        id=1,
        definition=ChallengeDefinition.model_validate(data),
        runs_from=runs_from,
        runs_until=runs_until,
        timezone=TZ,
    )


def spec(**definition: Any) -> Spec:
    result: Spec = challenge(**definition).spec
    return result


def activity(at: datetime, *values: str, amount: int = 1, source_id: int = 1) -> Counted:
    return Counted("purchase", source_id, 1, at, values or ("",), amount)


def feed(s: Spec, times: list[datetime], progress: Progress | None = None) -> list[datetime]:
    """Count activity at ``times`` in order; the times that completed an attempt."""
    progress = progress or Progress()
    done = []
    for i, at in enumerate(times):
        _, completion = advance(s, progress, activity(at, source_id=i))
        if completion is not None:
            done.append(completion.completed_at)
    return done


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=ZONE).astimezone(UTC)


# ---------------------------------------------------------------- calendar windows


def test_a_month_starts_at_local_midnight_not_utc_midnight() -> None:
    # 2026-03-31 22:30 UTC is already 1 April 00:30 in Stockholm (summer time from 29 March)
    start, end = calendar_window("month", datetime(2026, 3, 31, 22, 30, tzinfo=UTC), ZONE)
    assert start == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # 1 April 00:00 CEST
    assert end == datetime(2026, 4, 30, 22, 0, tzinfo=UTC)


def test_a_quarter_crosses_the_change_to_summer_time() -> None:
    start, end = calendar_window("quarter", datetime(2026, 2, 14, 12, tzinfo=UTC), ZONE)
    assert start == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)  # 1 January 00:00 CET
    assert end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # 1 April 00:00 CEST


def test_weeks_start_on_monday_in_the_club_time_zone() -> None:
    sunday_night = local(2026, 3, 8, 23, 59)
    monday_morning = local(2026, 3, 9, 0, 0)
    assert (
        period_number("week", monday_morning, ZONE) == period_number("week", sunday_night, ZONE) + 1
    )
    start, end = calendar_window("week", sunday_night, ZONE)
    assert (start, end) == (local(2026, 3, 2), local(2026, 3, 9))


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(at=instants, period=st.sampled_from(["day", "week", "month", "quarter", "year"]))
def test_calendar_windows_tile_time(at: datetime, period: str) -> None:
    start, end = calendar_window(period, at, ZONE)
    assert start <= at < end
    first = start.astimezone(ZONE)
    assert (first.hour, first.minute) == (0, 0)
    # the next window starts where this one ends
    assert calendar_window(period, end, ZONE)[0] == end
    assert calendar_window(period, end - timedelta(microseconds=1), ZONE) == (start, end)


@given(at=instants, period=st.sampled_from(["day", "week", "month"]))
def test_the_next_period_has_the_next_number(at: datetime, period: str) -> None:
    _, end = calendar_window(period, at, ZONE)
    assert period_number(period, end, ZONE) == period_number(period, at, ZONE) + 1


# ---------------------------------------------------------------- attempts


def test_three_purchases_in_thirty_days_rolling_from_the_first() -> None:
    s = spec(window={"kind": "rolling", "days": 30})
    progress = Progress()
    advance(s, progress, activity(START))
    advance(s, progress, activity(START + timedelta(days=10)))
    assert (progress.progress, progress.window_end) == (2, START + timedelta(days=30))
    # day 30 is outside the window: the attempt lapsed, a new one starts here
    _, completion = advance(s, progress, activity(START + timedelta(days=30)))
    assert completion is None
    assert (progress.attempt, progress.progress) == (2, 1)
    assert progress.window_start == START + timedelta(days=30)


def test_three_within_the_window_complete_once() -> None:
    s = spec(window={"kind": "rolling", "days": 30})
    days = [0, 1, 29, 30, 31]
    assert feed(s, [START + timedelta(days=d) for d in days]) == [START + timedelta(days=29)]


def test_a_repeatable_challenge_starts_a_new_attempt_and_stops_at_its_cap() -> None:
    s = spec(goal={"kind": "count", "target": 2}, repeatable=True, max_completions=2)
    times = [START + timedelta(hours=h) for h in range(7)]
    progress = Progress()
    assert feed(s, times, progress) == [times[1], times[3]]
    assert progress.state == "done"
    assert progress.completions == 2


def test_a_calendar_challenge_is_completed_at_most_once_per_period() -> None:
    s = spec(
        goal={"kind": "count", "target": 1},
        window={"kind": "calendar", "period": "month"},
        repeatable=True,
    )
    times = [local(2026, 3, 5), local(2026, 3, 20), local(2026, 4, 1), local(2026, 4, 2)]
    assert feed(s, times) == [times[0], times[2]]


def test_activity_outside_the_challenge_run_does_not_count() -> None:
    s = spec(runs_until=START + timedelta(days=7))
    progress = Progress()
    for at in (START - timedelta(seconds=1), START + timedelta(days=7)):
        facts, _ = advance(s, progress, activity(at))
        assert facts == []
    assert progress.state == "idle"
    assert spec(runs_from=None).running_at(START) is False  # a draft counts nothing


def test_late_activity_does_not_reopen_a_completed_attempt() -> None:
    s = spec(goal={"kind": "count", "target": 1}, repeatable=True)
    progress = Progress()
    advance(s, progress, activity(START + timedelta(days=2)))
    facts, completion = advance(s, progress, activity(START + timedelta(days=1), source_id=2))
    assert (facts, completion) == ([], None)
    assert progress.completions == 1


def test_distinct_and_sum_goals() -> None:
    distinct = spec(goal={"kind": "distinct", "field": "line.category", "target": 3})
    progress = Progress()
    advance(distinct, progress, activity(START, "coffee", "tea"))
    advance(distinct, progress, activity(START, "tea"))
    assert progress.progress == 2
    _, completion = advance(distinct, progress, activity(START, "bakery", "tea"))
    assert completion is not None

    total = spec(goal={"kind": "sum", "target": 100_000})
    progress = Progress()
    advance(total, progress, activity(START, amount=60_000))
    _, completion = advance(total, progress, activity(START, amount=40_000))
    assert completion is not None


# ---------------------------------------------------------------- streaks


def test_a_purchase_every_week_for_four_weeks() -> None:
    s = spec(goal={"kind": "streak", "period": "week", "target": 4})
    weeks = [START + timedelta(weeks=w, days=w % 3) for w in range(4)]
    assert feed(s, weeks) == [weeks[3]]


def test_a_missed_week_breaks_the_streak() -> None:
    s = spec(goal={"kind": "streak", "period": "week", "target": 4})
    progress = Progress()
    times = [START + timedelta(weeks=w) for w in (0, 1, 2, 4, 5, 6)]
    assert feed(s, times, progress) == []
    assert progress.progress == 3  # the longest run so far
    # as the member sees it in week 6: the current run is weeks 4-6
    assert view(s, progress, times[-1]).streak == 3
    # two weeks later without a purchase, the streak is broken
    assert view(s, progress, times[-1] + timedelta(weeks=2)).streak == 0
    _, completion = advance(s, progress, activity(START + timedelta(weeks=7)))
    assert completion is not None


def _monday(at: datetime) -> date:
    day = at.astimezone(ZONE).date()
    return day - timedelta(days=day.weekday())


def reference_streak(
    times: list[datetime], target: int, repeatable: bool
) -> tuple[list[datetime], set[date]]:
    """Weeks as their Monday dates; a streak is ``target`` Mondays 7 days apart, all present.
    After a completion the next streak starts in a later week."""
    done: list[datetime] = []
    weeks: set[date] = set()
    last: date | None = None
    for at in sorted(times):
        if done and not repeatable:
            break
        week = _monday(at)
        if last is not None and week <= last:
            continue
        weeks.add(week)
        if any(all(m + timedelta(days=7 * i) in weeks for i in range(target)) for m in weeks):
            done.append(at)
            weeks = set()
            last = week
    return done, weeks


@settings(max_examples=300, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 24 * 120), min_size=0, max_size=40),
    target=st.integers(1, 5),
    repeatable=st.booleans(),
    later=st.integers(0, 24 * 30),
)
def test_streaks_over_random_timelines_agree_with_the_reference(
    offsets: list[int], target: int, repeatable: bool, later: int
) -> None:
    s = spec(goal={"kind": "streak", "period": "week", "target": target}, repeatable=repeatable)
    times = sorted(START + timedelta(hours=h) for h in offsets)
    progress = Progress()
    expected, weeks = reference_streak(times, target, repeatable)
    assert feed(s, times, progress) == expected
    assert progress.completions == len(expected)
    if progress.state == "active":
        # the current run as shown at some later time: consecutive Mondays back from the last
        now = times[-1] + timedelta(hours=later)
        last = max(weeks)
        run = 0
        if last >= _monday(now) - timedelta(days=7):
            while last - timedelta(days=7 * run) in weeks:
                run += 1
        assert view(s, progress, now).streak == run


@given(st.sets(st.integers(-50, 50), max_size=30), st.integers(-60, 60))
def test_runs(periods: set[int], now: int) -> None:
    best = max(
        (n for n in range(1, 102) for p in periods if all(p + i in periods for i in range(n))),
        default=0,
    )
    assert longest_run(periods) == best
    current = current_run(periods, now)
    assert current <= best
    assert (current > 0) == bool(periods and max(periods) >= now - 1)


# ---------------------------------------------------------------- what activity counts


def purchase(*lines: LineFacts, channel: str = "store", first: bool = False) -> PurchaseRecorded:
    total = sum(line.total_minor for line in lines)
    return PurchaseRecorded(1, "o-1", 1, START, channel, None, total, 0, lines, first)


COFFEE = LineFacts.of("K1", 4500, 2, category="coffee")
TEA = LineFacts.of("T1", 3000, category="tea")
BUN = LineFacts.of("B1", 2500, category=None)


def counts(definition: dict[str, Any], p: PurchaseRecorded) -> Any:
    return challenge(**definition).matcher.purchase(PurchaseScope(p, MEMBER, ZONE))


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({}, (("",), 1)),
        ({"when": {"field": "purchase.channel", "op": "eq", "value": "web"}}, None),
        ({"when": {"field": "line.category", "op": "eq", "value": "coffee"}}, (("",), 1)),
        ({"when": {"field": "line.category", "op": "eq", "value": "juice"}}, None),
        (
            {"goal": {"kind": "distinct", "field": "line.category", "target": 4}},
            (("coffee", "tea"), 1),
        ),
        (
            {
                "goal": {"kind": "distinct", "field": "line.category", "target": 4},
                "when": {"field": "line.category", "op": "ne", "value": "tea"},
            },
            (("coffee",), 1),
        ),
        ({"goal": {"kind": "sum", "target": 1}}, (("",), 9000 + 3000 + 2500)),
        (
            {
                "goal": {"kind": "sum", "target": 1},
                "when": {"field": "line.category", "op": "eq", "value": "coffee"},
            },
            (("",), 9000),
        ),
        (
            {
                "goal": {"kind": "sum", "field": "line.quantity", "target": 1},
                "when": {"field": "line.category", "op": "in", "value": ["coffee", "tea"]},
            },
            (("",), 3),
        ),
        ({"when": {"field": "member.first_purchase", "op": "eq", "value": True}}, None),
    ],
)
def test_what_a_purchase_counts(definition: dict[str, Any], expected: Any) -> None:
    assert counts(definition, purchase(COFFEE, TEA, BUN)) == expected


def test_a_purchase_with_nothing_left_counts_for_nothing() -> None:
    assert counts({}, purchase()) is None


def test_what_an_event_counts() -> None:
    c = challenge(
        activity="event",
        event_type="survey_answered",
        goal={"kind": "distinct", "field": "event.properties.survey", "target": 2},
        when={"field": "event.properties.score", "op": "gte", "value": 1},
    )
    event = EventRecorded(1, 1, "survey_answered", START, {"survey": "spring", "score": 4})
    context = event_context(event, MEMBER, ZONE)
    assert c.matcher.event(event, context) == (("spring",), 1)
    other = EventRecorded(2, 1, "review_written", START, {"survey": "spring", "score": 4})
    assert c.matcher.event(other, event_context(other, MEMBER, ZONE)) is None
    low = EventRecorded(3, 1, "survey_answered", START, {"survey": "spring", "score": 0})
    assert c.matcher.event(low, event_context(low, MEMBER, ZONE)) is None
