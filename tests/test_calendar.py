"""The club's calendar (``lojal.calendar``) on its own: hand-computed days and windows across
changes of daylight saving, hypothesis properties over instants near every change in five
zones (one with a 30-minute change, one without any), and parity with the four copies of the
arithmetic that rules, challenges, tiers and the ledger used to carry."""

from __future__ import annotations

import calendar as std_calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lojal import calendar as cal
from lojal.challenges.engine import calendar_window, period_number
from lojal.ledger.entries import expiry_for
from lojal.rules.engine import cap_window
from lojal.tiers import qualification

ZONES = (
    "Europe/Stockholm",
    "America/New_York",
    "Australia/Lord_Howe",  # daylight saving moves the clock by 30 minutes
    "Asia/Kolkata",  # no daylight saving, a half-hour offset
    "UTC",
)
# Zones whose midnight is skipped or repeated, or that skipped a whole day: the results must
# still be those of the old copies.
ODD_ZONES = ("America/Havana", "America/Santiago", "Pacific/Apia")
STOCKHOLM = ZoneInfo("Europe/Stockholm")
HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)


def at(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in ``zone`` as a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def transitions(zone: ZoneInfo, first: int = 2000, last: int = 2040) -> list[datetime]:
    """Every instant the zone's offset changes between ``first`` and ``last`` (to the second)."""
    found: list[datetime] = []
    moment = datetime(first, 1, 1, 12, tzinfo=UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment.year < last:
        later = moment + timedelta(days=1)
        later_offset = later.astimezone(zone).utcoffset()
        if later_offset != offset:
            low, high = moment, later
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            found.append(high)
            offset = later_offset
        moment = later
    return found


CHANGES = {name: transitions(ZoneInfo(name)) for name in ZONES + ODD_ZONES}
PERIODS = st.sampled_from(cal.PERIODS)


@st.composite
def moments(draw: st.DrawFn, names: tuple[str, ...] = ZONES) -> tuple[str, datetime]:
    """A zone and a UTC instant: anywhere in 2000-2100, or within two days of a change of
    the zone's offset."""
    name = draw(st.sampled_from(names))
    changes = CHANGES[name]
    near_a_change = draw(st.booleans())
    if changes and near_a_change:
        change = draw(st.sampled_from(changes))
        moment = change + timedelta(minutes=draw(st.integers(-48 * 60, 48 * 60)))
        return name, moment + timedelta(microseconds=draw(st.integers(-1, 1)))
    moment = draw(
        st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        )
    )
    return name, moment


dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
month_moves = st.integers(-1200, 1200)


# ---------------------------------------------------------------- hand-computed examples


def test_the_stockholm_day_of_the_change_to_summer_time_is_23_hours() -> None:
    start, end = cal.day_window(date(2026, 3, 29), STOCKHOLM)
    assert start == datetime(2026, 3, 28, 23, tzinfo=UTC)  # 00:00 CET
    assert end == datetime(2026, 3, 29, 22, tzinfo=UTC)  # 00:00 CEST
    assert end - start == timedelta(hours=23)
    assert cal.window("day", datetime(2026, 3, 29, 12, tzinfo=UTC), STOCKHOLM) == (start, end)


def test_the_stockholm_day_of_the_change_to_winter_time_is_25_hours() -> None:
    start, end = cal.day_window(date(2026, 10, 25), STOCKHOLM)
    assert (start, end) == (
        datetime(2026, 10, 24, 22, tzinfo=UTC),
        datetime(2026, 10, 25, 23, tzinfo=UTC),
    )
    assert end - start == timedelta(hours=25)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
        ("Australia/Lord_Howe", date(2026, 4, 5), 24.5),  # 02:00 back to 01:30
        ("Australia/Lord_Howe", date(2026, 10, 4), 23.5),  # 02:00 on to 02:30
        ("Asia/Kolkata", date(2026, 3, 29), 24),
        ("UTC", date(2026, 3, 29), 24),
    ],
)
def test_a_day_is_as_long_as_the_wall_clock_says(zone: str, day: date, hours: float) -> None:
    start, end = cal.day_window(day, ZoneInfo(zone))
    assert end - start == timedelta(hours=hours)
    assert start.astimezone(ZoneInfo(zone)).time().isoformat() == "00:00:00"


def test_kolkata_midnight_is_the_evening_before_in_utc() -> None:
    zone = ZoneInfo("Asia/Kolkata")
    assert cal.local_midnight(date(2026, 1, 1), zone) == datetime(2025, 12, 31, 18, 30, tzinfo=UTC)
    assert cal.local_day(datetime(2025, 12, 31, 18, 30, tzinfo=UTC), zone) == date(2026, 1, 1)
    assert cal.local_day(datetime(2025, 12, 31, 18, 29, tzinfo=UTC), zone) == date(2025, 12, 31)


def test_a_week_across_the_change_is_an_hour_short_and_starts_on_monday() -> None:
    start, end = cal.window("week", at("Europe/Stockholm", 2026, 3, 29, 23, 59), STOCKHOLM)
    assert start == at("Europe/Stockholm", 2026, 3, 23)  # Monday
    assert end == at("Europe/Stockholm", 2026, 3, 30)
    assert end - start == timedelta(days=7) - HOUR


def test_quarters_and_years_start_at_local_midnight() -> None:
    q1 = cal.window("quarter", datetime(2026, 2, 14, tzinfo=UTC), STOCKHOLM)
    assert q1 == (datetime(2025, 12, 31, 23, tzinfo=UTC), datetime(2026, 3, 31, 22, tzinfo=UTC))
    q4 = cal.window("quarter", datetime(2026, 12, 31, 22, 59, tzinfo=UTC), STOCKHOLM)
    assert q4 == (datetime(2026, 9, 30, 22, tzinfo=UTC), datetime(2026, 12, 31, 23, tzinfo=UTC))
    year = cal.window("year", datetime(2026, 12, 31, 23, tzinfo=UTC), STOCKHOLM)
    assert year[0] == datetime(2026, 12, 31, 23, tzinfo=UTC)  # already 2027 in Stockholm


def test_a_skipped_or_repeated_midnight_starts_the_day_at_its_first_instant() -> None:
    havana = ZoneInfo("America/Havana")
    # 8 March 2026: the clocks go from 00:00 to 01:00; the day starts at 01:00 CDT.
    start, end = cal.day_window(date(2026, 3, 8), havana)
    assert start == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert start.astimezone(havana).hour == 1
    assert end - start == timedelta(hours=23)
    # 1 November 2026: the clocks go from 01:00 back to 00:00; the day starts at the first.
    start, end = cal.day_window(date(2026, 11, 1), havana)
    assert start == datetime(2026, 11, 1, 4, tzinfo=UTC)
    assert end - start == timedelta(hours=25)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),
        (date(2026, 1, 15), -13, date(2024, 12, 15)),
        (date(2026, 5, 9), 0, date(2026, 5, 9)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(day: date, months: int, expected: date) -> None:
    assert cal.add_months(day, months) == expected


def test_add_months_keeps_the_wall_clock_of_a_datetime() -> None:
    winter = datetime(2026, 1, 31, 14, 30, tzinfo=STOCKHOLM)
    moved = cal.add_months(winter, 3)
    assert moved == datetime(2026, 4, 30, 14, 30, tzinfo=STOCKHOLM)
    assert cal.shift_months(winter, 3, STOCKHOLM) == datetime(2026, 4, 30, 12, 30, tzinfo=UTC)


def test_shift_days_keeps_the_local_time_across_a_change() -> None:
    before = at("Europe/Stockholm", 2026, 3, 28, 9)
    assert cal.shift_days(before, 2, STOCKHOLM) == at("Europe/Stockholm", 2026, 3, 30, 9)
    assert cal.shift_days(before, 2, STOCKHOLM) - before == timedelta(days=2) - HOUR


def test_month_ends_and_days_between() -> None:
    assert cal.end_of_month(date(2026, 2, 10)) == date(2026, 2, 28)
    assert cal.end_of_month(date(2024, 2, 10)) == date(2024, 2, 29)
    assert cal.end_of_month(date(2026, 12, 1)) == date(2026, 12, 31)
    assert cal.month_start(datetime(2026, 5, 17, 13, 5, tzinfo=STOCKHOLM)) == datetime(
        2026, 5, 1, tzinfo=STOCKHOLM
    )
    assert cal.days_between(date(2026, 3, 1), date(2026, 3, 31)) == 30
    assert cal.days_between(date(2026, 3, 31), date(2026, 3, 1)) == -30
    assert cal.days_between(date(2024, 1, 1), date(2025, 1, 1)) == 366


def test_an_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError, match="fortnight"):
        cal.window("fortnight", datetime(2026, 1, 1, tzinfo=UTC), STOCKHOLM)
    with pytest.raises(ValueError, match="fortnight"):
        cal.period_index("fortnight", date(2026, 1, 1))


# ---------------------------------------------------------------- windows


@given(zoned=moments(), period=PERIODS)
def test_a_window_contains_its_moment_and_starts_at_local_midnight(
    zoned: tuple[str, datetime], period: str
) -> None:
    name, moment = zoned
    zone = ZoneInfo(name)
    start, end = cal.window(period, moment, zone)
    assert start <= moment < end
    assert start < end
    first = start.astimezone(zone)
    assert (first.hour, first.minute, first.second, first.microsecond) == (0, 0, 0, 0)
    assert first.date() == cal.period_start(period, cal.local_day(moment, zone))
    # the instant before the start is on the day before
    assert cal.local_day(start - TICK, zone) == first.date() - timedelta(days=1)


@given(zoned=moments(), period=PERIODS)
def test_consecutive_windows_tile_time(zoned: tuple[str, datetime], period: str) -> None:
    name, moment = zoned
    zone = ZoneInfo(name)
    start, end = cal.window(period, moment, zone)
    following = cal.window(period, end, zone)
    assert following[0] == end
    assert cal.window(period, end - TICK, zone) == (start, end)
    assert cal.window(period, start, zone) == (start, end)
    assert cal.window(period, start - TICK, zone)[1] == start
    day = cal.local_day(moment, zone)
    assert cal.period_index(period, cal.local_day(end, zone)) == cal.period_index(period, day) + 1


@given(zoned=moments(), period=PERIODS)
def test_a_window_is_its_wall_days_less_what_the_clock_moved(
    zoned: tuple[str, datetime], period: str
) -> None:
    name, moment = zoned
    zone = ZoneInfo(name)
    start, end = cal.window(period, moment, zone)
    first, after = start.astimezone(zone), end.astimezone(zone)
    moved = after.utcoffset() - first.utcoffset()  # type: ignore[operator]
    assert end - start == timedelta(days=cal.days_between(first.date(), after.date())) - moved


@given(zoned=moments())
def test_quarters_start_in_january_april_july_october(zoned: tuple[str, datetime]) -> None:
    name, moment = zoned
    zone = ZoneInfo(name)
    start, end = cal.window("quarter", moment, zone)
    first, after = start.astimezone(zone).date(), end.astimezone(zone).date()
    assert first.month in {1, 4, 7, 10}
    assert first.day == 1
    assert after == cal.add_months(first, 3)


@given(zoned=moments())
def test_weeks_start_on_monday(zoned: tuple[str, datetime]) -> None:
    name, moment = zoned
    zone = ZoneInfo(name)
    start, end = cal.window("week", moment, zone)
    assert start.astimezone(zone).weekday() == 0
    assert cal.days_between(start.astimezone(zone).date(), end.astimezone(zone).date()) == 7


# ---------------------------------------------------------------- months and days


@given(day=dates, months=month_moves)
def test_add_months_lands_in_the_right_month_clamped(day: date, months: int) -> None:
    moved = cal.add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == min(day.day, std_calendar.monthrange(moved.year, moved.month)[1])


@given(day=dates, first=month_moves, second=month_moves)
def test_add_months_composes_when_the_first_move_does_not_clamp(
    day: date, first: int, second: int
) -> None:
    once = cal.add_months(day, first)
    if once.day == day.day:  # no end-of-month clamping on the way
        assert cal.add_months(once, second) == cal.add_months(day, first + second)
    if day.day <= 28:
        assert cal.add_months(cal.add_months(day, first), -first) == day


@given(day=dates)
def test_the_end_of_the_month_is_the_day_before_the_next_first(day: date) -> None:
    last = cal.end_of_month(day)
    assert (last.year, last.month) == (day.year, day.month)
    assert last + timedelta(days=1) == cal.add_months(cal.month_start(day), 1)
    assert cal.add_months(cal.month_start(day), 1) == cal.next_period_start("month", day)


@given(day=dates, days=st.integers(-20_000, 20_000))
def test_days_between_undoes_adding_days(day: date, days: int) -> None:
    assert cal.days_between(day, day + timedelta(days=days)) == days


@given(zoned=moments(), days=st.integers(-400, 400))
def test_shift_days_moves_the_local_date(zoned: tuple[str, datetime], days: int) -> None:
    name, moment = zoned
    zone = ZoneInfo(name)
    moved = cal.shift_days(moment, days, zone)
    assert cal.local_day(moved, zone) == cal.local_day(moment, zone) + timedelta(days=days)


@given(zoned=moments(), months=st.integers(-120, 120))
def test_shift_months_moves_the_local_date_by_months(
    zoned: tuple[str, datetime], months: int
) -> None:
    name, moment = zoned
    zone = ZoneInfo(name)
    moved = cal.shift_months(moment, months, zone)
    assert cal.local_day(moved, zone) == cal.add_months(cal.local_day(moment, zone), months)


# ---------------------------------------------------------------- the four old copies, verbatim


def old_cap_window(period: str, at: datetime, timezone: str) -> tuple[datetime, datetime] | None:
    if period == "lifetime":
        return None
    tz = ZoneInfo(timezone)
    local = at.astimezone(tz)
    day = local.date()
    if period == "day":
        start, end = day, day + timedelta(days=1)
    elif period == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    elif period == "month":
        start = day.replace(day=1)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
    elif period == "year":
        start, end = date(day.year, 1, 1), date(day.year + 1, 1, 1)
    else:
        raise ValueError(period)

    def to_utc(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC)

    return to_utc(start), to_utc(end)


def old_local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def old_add_first_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def old_calendar_window(period: str, at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    day = at.astimezone(zone).date()
    if period == "day":
        start, end = day, day + timedelta(days=1)
    elif period == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    elif period == "month":
        start = day.replace(day=1)
        end = old_add_first_months(start, 1)
    elif period == "quarter":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        end = old_add_first_months(start, 3)
    elif period == "year":
        start, end = date(day.year, 1, 1), date(day.year + 1, 1, 1)
    else:
        raise ValueError(period)
    return old_local_midnight(start, zone), old_local_midnight(end, zone)


def old_period_number(period: str, at: datetime, zone: ZoneInfo) -> int:
    day = at.astimezone(zone).date()
    if period == "day":
        return day.toordinal()
    if period == "week":
        return (day.toordinal() - 1) // 7
    if period == "month":
        return day.year * 12 + day.month - 1
    raise ValueError(period)


def old_tier_add_months(at: datetime, months: int, timezone: str) -> datetime:
    local = at.astimezone(ZoneInfo(timezone))
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, std_calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def old_tier_add_days(at: datetime, days: int, timezone: str) -> datetime:
    local = at.astimezone(ZoneInfo(timezone))
    return (
        (local.replace(tzinfo=None) + timedelta(days=days))
        .replace(tzinfo=local.tzinfo)
        .astimezone(UTC)
    )


def old_year_start(at: datetime, timezone: str, *, years: int = 0) -> datetime:
    zone = ZoneInfo(timezone)
    year = at.astimezone(zone).year + years
    return datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)


def old_expiry_for(
    earned_at: datetime, *, months: int | None, round_to_month_end: bool, timezone: str
) -> datetime | None:
    if months is None:
        return None
    local = earned_at.astimezone(ZoneInfo(timezone))
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    if round_to_month_end:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        result = local.replace(
            year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0
        )
    else:
        day = min(local.day, std_calendar.monthrange(year, month)[1])
        result = local.replace(year=year, month=month, day=day)
    return result.astimezone(earned_at.tzinfo)


ALL_ZONES = ZONES + ODD_ZONES


def same(result: datetime | None, expected: datetime | None) -> None:
    """Equal instants, and equal as written (the same offset and fields)."""
    assert result == expected
    assert repr(result) == repr(expected)


@given(
    zoned=moments(ALL_ZONES), period=st.sampled_from(["lifetime", "day", "week", "month", "year"])
)
def test_cap_windows_are_what_they_were(zoned: tuple[str, datetime], period: str) -> None:
    name, moment = zoned
    assert cap_window(period, moment, name) == old_cap_window(period, moment, name)


@given(zoned=moments(ALL_ZONES), period=PERIODS)
def test_challenge_windows_and_periods_are_what_they_were(
    zoned: tuple[str, datetime], period: str
) -> None:
    name, moment = zoned
    zone = ZoneInfo(name)
    assert calendar_window(period, moment, zone) == old_calendar_window(period, moment, zone)
    if period in {"day", "week", "month"}:
        assert period_number(period, moment, zone) == old_period_number(period, moment, zone)


@given(zoned=moments(ALL_ZONES), months=st.integers(-60, 60), days=st.integers(-400, 400))
def test_tier_arithmetic_is_what_it_was(
    zoned: tuple[str, datetime], months: int, days: int
) -> None:
    name, moment = zoned
    same(qualification.add_months(moment, months, name), old_tier_add_months(moment, months, name))
    same(qualification.add_days(moment, days, name), old_tier_add_days(moment, days, name))
    for years in (-1, 0, 1):
        same(
            qualification.year_start(moment, name, years=years),
            old_year_start(moment, name, years=years),
        )


@given(
    zoned=moments(ALL_ZONES),
    months=st.none() | st.integers(0, 120),
    rounding=st.booleans(),
    written=st.sampled_from(["UTC", *ALL_ZONES]),
)
def test_expiry_is_what_it_was(
    zoned: tuple[str, datetime], months: int | None, rounding: bool, written: str
) -> None:
    name, moment = zoned
    earned = moment.astimezone(ZoneInfo(written))  # whatever zone the caller's instant is in
    same(
        expiry_for(earned, months=months, round_to_month_end=rounding, timezone=name),
        old_expiry_for(earned, months=months, round_to_month_end=rounding, timezone=name),
    )


def test_expiry_keeps_a_repeated_midnight_as_it_was() -> None:
    """Earned in the second 00:30 of 2 November 2025 in Havana, expiring 11 months later at
    the end of the month: 1 November 2026 00:00, which Havana also has twice."""
    havana = ZoneInfo("America/Havana")
    earned = datetime(2025, 11, 2, 5, 30, tzinfo=UTC)
    assert earned.astimezone(havana).fold == 1
    result = expiry_for(earned, months=11, round_to_month_end=True, timezone="America/Havana")
    expected = old_expiry_for(earned, months=11, round_to_month_end=True, timezone="America/Havana")
    same(result, expected)
