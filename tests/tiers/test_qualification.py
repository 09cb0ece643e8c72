"""The qualification arithmetic, as properties over many cases: which tier a total reaches,
how far a review may drop a member, and the windows and periods on the club's calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st

from lojal.tiers import qualification as q

ZONES = st.sampled_from(["Europe/Stockholm", "America/New_York", "Asia/Kolkata", "UTC"])
PERIODS = st.sampled_from(["rolling_12_months", "calendar_year"])
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)
THRESHOLDS = st.lists(st.integers(0, 10**9), min_size=1, max_size=8, unique=True).map(sorted)


@given(THRESHOLDS, st.integers(-(10**9), 2 * 10**9))
def test_a_total_reaches_the_highest_tier_whose_threshold_it_meets(
    thresholds: list[int], total: int
) -> None:
    rank = q.qualified_rank(thresholds, total)
    if rank == q.NO_TIER:
        assert total < thresholds[0]
    else:
        assert thresholds[rank] <= total
        assert rank == len(thresholds) - 1 or total < thresholds[rank + 1]


@given(THRESHOLDS, st.integers(0, 10**9), st.integers(0, 10**9))
def test_more_never_qualifies_for_less(thresholds: list[int], a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert q.qualified_rank(thresholds, low) <= q.qualified_rank(thresholds, high)


@given(
    current=st.integers(-1, 10),
    qualified=st.integers(-1, 10),
    max_levels=st.one_of(st.none(), st.integers(1, 10)),
)
def test_a_review_never_drops_more_than_the_policy_allows(
    current: int, qualified: int, max_levels: int | None
) -> None:
    target = q.downgrade_target(current, qualified, max_levels)
    assert target >= qualified  # never below what the member qualifies for
    if qualified >= current:
        assert target == qualified
    else:
        assert target <= current  # a review does not raise
        if max_levels is not None:
            assert current - target <= max_levels
        else:
            assert target == qualified


@given(st.integers(0, 10**12), st.integers(-(10**12), 10**12))
def test_what_remains_to_a_threshold_closes_the_gap(threshold: int, total: int) -> None:
    left = q.remaining(threshold, total)
    assert left >= 0
    assert total + left >= threshold
    assert left == 0 or total + left == threshold


@given(INSTANTS, PERIODS, ZONES)
def test_the_current_window_holds_now(at: datetime, period: q.Period, zone: str) -> None:
    window = q.current_window(period, at, zone)
    assert window.contains(at)
    assert q.window_until(period, at, zone).contains(at)
    assert not q.window_until(period, at, zone).contains(at + q.TICK)


@given(INSTANTS, ZONES)
def test_a_calendar_window_is_a_local_calendar_year(at: datetime, zone: str) -> None:
    window = q.current_window("calendar_year", at, zone)
    assert window.end is not None
    start, end = window.start.astimezone(ZoneInfo(zone)), window.end.astimezone(ZoneInfo(zone))
    assert (start.month, start.day, start.hour, start.minute) == (1, 1, 0, 0)
    assert (end.month, end.day, end.hour, end.minute) == (1, 1, 0, 0)
    assert end.year == start.year + 1 == at.astimezone(ZoneInfo(zone)).year + 1


@given(INSTANTS, ZONES)
def test_a_rolling_window_is_the_twelve_months_up_to_now(at: datetime, zone: str) -> None:
    window = q.window_until("rolling_12_months", at, zone)
    year_ago = q.add_months(at, -12, zone)
    assert not window.contains(year_ago)
    assert window.contains(year_ago + q.TICK)
    assert timedelta(days=364) < at - year_ago < timedelta(days=367)


@example(datetime(2000, 2, 29, 12, tzinfo=UTC), "rolling_12_months", "UTC")
@given(INSTANTS, PERIODS, ZONES)
def test_a_review_looks_at_the_period_that_ends_there(
    start: datetime, period: q.Period, zone: str
) -> None:
    end = q.period_end(period, start, zone)
    assert end > start
    window = q.period_window(period, end, zone)
    assert window.end is not None
    assert window.end >= end
    assert not window.contains(end + q.TICK)
    if period == "calendar_year":
        # the year in which the tier was won is the year reviewed
        assert window.contains(start)
        assert not window.contains(end)
    else:
        # the tier period itself: from just after the upgrade to the review. A tier won on
        # 29 February is reviewed on 28 February, and the twelve months up to that review begin
        # on the 28th of the year before: the one day the clamped month adds counts too.
        local = start.astimezone(ZoneInfo(zone))
        if (local.month, local.day) != (2, 29):
            assert not window.contains(start)
        assert window.contains(start + q.TICK)
        assert window.contains(end)


@given(INSTANTS, st.integers(-240, 240), ZONES)
def test_months_move_on_the_local_calendar(at: datetime, months: int, zone: str) -> None:
    moved = q.add_months(at, months, zone).astimezone(ZoneInfo(zone))
    local = at.astimezone(ZoneInfo(zone))
    assert (moved.year * 12 + moved.month) - (local.year * 12 + local.month) == months
    assert moved.day == local.day or moved.day < local.day  # clamped to a shorter month


@given(INSTANTS, st.integers(1, 366), ZONES)
def test_a_grace_period_ends_at_the_same_local_time(at: datetime, days: int, zone: str) -> None:
    moved = q.add_days(at, days, zone).astimezone(ZoneInfo(zone))
    local = at.astimezone(ZoneInfo(zone))
    assert (moved.date() - local.date()).days == days
    assert abs(moved - local - timedelta(days=days)) <= timedelta(hours=2)  # only DST
