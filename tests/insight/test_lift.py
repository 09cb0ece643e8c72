"""Lift and its intervals: the published examples, SciPy's own Welch and Katz intervals, a
simulated coverage, and the properties every interval must have."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.stats.contingency import relative_risk

from lojal.insight.lift import (
    GroupOutcomes,
    GroupSummary,
    Interval,
    Lift,
    LiftInvalid,
    lift,
    lift_of_outcomes,
    newcombe_interval,
    ratio_interval,
    welch_interval,
    wilson_interval,
)

# Newcombe RG (1998), "Interval estimation for the difference between independent
# proportions: comparison of eleven methods", Statistics in Medicine 17:873-890, Table II,
# method 10 (score, no continuity correction): (k1, n1, k2, n2) -> 95 % limits of p1 - p2.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "limits"), NEWCOMBE_TABLE_II)
def test_newcombe_method_10_reproduces_the_published_table(
    counts: tuple[int, int, int, int], limits: tuple[float, float]
) -> None:
    interval = newcombe_interval(*counts)
    # the table gives four decimals: within half a unit of the last one
    assert interval.low == pytest.approx(limits[0], abs=5e-5)
    assert interval.high == pytest.approx(limits[1], abs=5e-5)


def test_wilson_reproduces_the_published_single_proportion_limits() -> None:
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I,
    # method 3: 0/10 -> 0 to 0.2775, 81/263 -> 0.2553 to 0.3662, 15/148 -> 0.0624 to 0.1605
    for successes, trials, low, high in [
        (0, 10, 0.0, 0.2775),
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
    ]:
        interval = wilson_interval(successes, trials)
        assert interval.low == pytest.approx(low, abs=5e-5)
        assert interval.high == pytest.approx(high, abs=5e-5)


def sample(seed: int, n: int, scale: float) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(mean=math.log(scale), sigma=1.2, size=n)


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_welch_agrees_with_scipy(confidence: float) -> None:
    treated, control = sample(1, 300, 40.0), sample(2, 45, 32.0)
    interval = welch_interval(
        float(treated.mean()),
        float(treated.var(ddof=1)),
        treated.size,
        float(control.mean()),
        float(control.var(ddof=1)),
        control.size,
        confidence,
    )
    expected = stats.ttest_ind(treated, control, equal_var=False).confidence_interval(
        confidence_level=confidence
    )
    assert interval is not None
    assert interval.low == pytest.approx(expected.low, rel=1e-10)
    assert interval.high == pytest.approx(expected.high, rel=1e-10)


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # SciPy's, not ours
@settings(max_examples=60, deadline=None)
@given(
    treated=st.lists(st.floats(0, 5_000, allow_nan=False), min_size=2, max_size=40),
    control=st.lists(st.floats(0, 5_000, allow_nan=False), min_size=2, max_size=40),
)
def test_welch_agrees_with_scipy_on_any_sample(treated: list[float], control: list[float]) -> None:
    a, b = np.array(treated), np.array(control)
    interval = welch_interval(
        float(a.mean()), float(a.var(ddof=1)), a.size, float(b.mean()), float(b.var(ddof=1)), b.size
    )
    assert interval is not None
    if a.var() == 0 and b.var() == 0:
        assert interval.low == interval.high == pytest.approx(a.mean() - b.mean())
        return
    expected = stats.ttest_ind(a, b, equal_var=False).confidence_interval()
    assert interval.low == pytest.approx(expected.low, rel=1e-7, abs=1e-7)
    assert interval.high == pytest.approx(expected.high, rel=1e-7, abs=1e-7)


def test_the_relative_lift_of_conversion_is_katzs_log_interval() -> None:
    treated = GroupSummary.from_sums(
        members=2_400,
        conversions=312,
        purchases=0,
        purchases_squared=0,
        revenue=0,
        revenue_squared=0,
    )
    control = GroupSummary.from_sums(
        members=1_100,
        conversions=110,
        purchases=0,
        purchases_squared=0,
        revenue=0,
        revenue_squared=0,
    )
    result = lift(treated, control, currency="SEK")
    expected = relative_risk(312, 2_400, 110, 1_100)
    ci = expected.confidence_interval(confidence_level=0.95)
    assert result.conversion.relative == pytest.approx(expected.relative_risk - 1)
    assert result.conversion.relative_interval is not None
    assert result.conversion.relative_interval.low == pytest.approx(ci.low - 1, rel=1e-9)
    assert result.conversion.relative_interval.high == pytest.approx(ci.high - 1, rel=1e-9)


def members(
    n: int, rate: float, spend: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    converted = (rng.random(n) < rate).astype(float)
    purchases = converted * rng.poisson(1.5, n) + converted
    revenue = purchases * rng.gamma(2.0, spend / 2, n)
    return converted, purchases, revenue


def test_a_journey_that_works() -> None:
    treated = GroupOutcomes.of(*members(20_000, 0.12, 300.0, seed=3), group="treated")
    control = GroupOutcomes.of(*members(2_000, 0.08, 300.0, seed=4), group="control")
    result = lift_of_outcomes(treated, control, currency="SEK")

    assert result.treated_members == 20_000
    assert result.control_members == 2_000
    assert result.currency == "SEK"
    conversion = result.conversion
    assert conversion.treated == pytest.approx(treated.converted.mean())
    assert conversion.control == pytest.approx(control.converted.mean())
    assert conversion.difference == pytest.approx(conversion.treated - conversion.control)
    assert conversion.difference_interval is not None
    # four rate points of lift are found, and the interval keeps away from 0
    assert conversion.difference_interval.low > 0
    assert 0.04 in conversion.difference_interval
    assert conversion.relative_interval is not None
    assert 0.5 in conversion.relative_interval

    revenue = result.revenue
    assert revenue.treated == pytest.approx(treated.revenue.mean())
    assert revenue.control == pytest.approx(control.revenue.mean())
    assert revenue.difference_interval is not None
    assert revenue.difference_interval.low > 0
    assert result.incremental_revenue == pytest.approx(revenue.difference * 20_000)
    assert result.incremental_revenue_interval is not None
    assert result.incremental_revenue_interval.low == pytest.approx(
        revenue.difference_interval.low * 20_000
    )
    assert result.incremental_revenue_interval.high == pytest.approx(
        revenue.difference_interval.high * 20_000
    )
    assert result.purchases.treated == pytest.approx(treated.purchases.mean())


def test_a_journey_that_does_nothing_has_an_interval_around_zero() -> None:
    treated = GroupOutcomes.of(*members(5_000, 0.1, 200.0, seed=5), group="treated")
    control = GroupOutcomes.of(*members(1_000, 0.1, 200.0, seed=6), group="control")
    result = lift_of_outcomes(treated, control, currency="EUR")
    for comparison in (result.conversion, result.purchases, result.revenue):
        assert comparison.difference_interval is not None
        assert 0 in comparison.difference_interval
        assert comparison.relative_interval is not None
        assert 0 in comparison.relative_interval
    assert result.incremental_revenue_interval is not None
    assert 0 in result.incremental_revenue_interval


def test_the_sums_of_a_query_give_what_the_members_give() -> None:
    converted, purchases, revenue = members(3_000, 0.2, 150.0, seed=7)
    by_member = GroupSummary.of(GroupOutcomes.of(converted, purchases, revenue))
    by_sums = GroupSummary.from_sums(
        members=3_000,
        conversions=int(converted.sum()),
        purchases=float(purchases.sum()),
        purchases_squared=float((purchases**2).sum()),
        revenue=float(revenue.sum()),
        revenue_squared=float((revenue**2).sum()),
    )
    assert by_sums.members == by_member.members
    assert by_sums.conversions == by_member.conversions
    assert by_sums.purchases_mean == pytest.approx(by_member.purchases_mean)
    assert by_sums.purchases_variance == pytest.approx(by_member.purchases_variance, rel=1e-9)
    assert by_sums.revenue_mean == pytest.approx(by_member.revenue_mean)
    assert by_sums.revenue_variance == pytest.approx(by_member.revenue_variance, rel=1e-9)
    assert by_member.revenue_variance == pytest.approx(float(np.var(revenue, ddof=1)))


def test_the_intervals_cover_the_truth_about_as_often_as_they_say() -> None:
    """2,000 simulated journeys with a known lift: the 95 % intervals hold it 93–97 % of the
    time (the binomial spread of 2,000 draws at 95 % is ±1 point at two standard errors)."""
    rng = np.random.default_rng(2026)
    runs, n_treated, n_control = 2_000, 400, 150
    p_treated, p_control, spend_treated, spend_control = 0.15, 0.10, 60.0, 50.0
    conversion_hits = revenue_hits = relative_hits = 0
    for _ in range(runs):
        k1 = int(rng.binomial(n_treated, p_treated))
        k2 = int(rng.binomial(n_control, p_control))
        a = rng.exponential(spend_treated, n_treated)
        b = rng.exponential(spend_control, n_control)
        conversion_hits += (p_treated - p_control) in newcombe_interval(
            k1, n_treated, k2, n_control
        )
        welch = welch_interval(
            float(a.mean()),
            float(a.var(ddof=1)),
            a.size,
            float(b.mean()),
            float(b.var(ddof=1)),
            b.size,
        )
        assert welch is not None
        revenue_hits += (spend_treated - spend_control) in welch
        ratio = ratio_interval(
            float(a.mean()),
            float(a.std(ddof=1)) / math.sqrt(a.size),
            float(b.mean()),
            float(b.std(ddof=1)) / math.sqrt(b.size),
        )
        assert ratio is not None
        assert ratio[1] is not None
        relative_hits += (spend_treated / spend_control - 1) in ratio[1]
    for hits in (conversion_hits, revenue_hits, relative_hits):
        assert 0.93 <= hits / runs <= 0.97


# ---------------------------------------------------------------- properties

group_sizes = st.integers(min_value=2, max_value=3_000)


@st.composite
def summaries(draw: st.DrawFn) -> GroupSummary:
    """A group as counts and money can make it: means in whole purchases and cents, and a
    sample variance no larger than non-negative values allow (n·mean², everything bought
    by one member)."""
    n = draw(group_sizes)
    conversions = draw(st.integers(0, n))
    purchases_mean = draw(st.integers(0, 20 * n)) / n
    revenue_mean = draw(st.integers(0, 1_000_000)) / 100
    return GroupSummary(
        members=n,
        conversions=conversions,
        purchases_mean=purchases_mean,
        purchases_variance=draw(st.floats(0, 1)) * n * purchases_mean**2,
        revenue_mean=revenue_mean,
        revenue_variance=draw(st.floats(0, 1)) * n * revenue_mean**2,
    )


@settings(max_examples=200, deadline=None)
@given(
    means=st.lists(st.floats(0, 1e300), min_size=4, max_size=4),
    variances=st.lists(st.floats(0, 1e300), min_size=4, max_size=4),
    sizes=st.lists(st.integers(1, 10**9), min_size=2, max_size=2),
)
def test_extreme_figures_give_an_answer_or_no_interval_never_an_error(
    means: list[float], variances: list[float], sizes: list[int]
) -> None:
    groups = [
        GroupSummary(
            sizes[i],
            sizes[i] // 2,
            means[2 * i],
            variances[2 * i],
            means[2 * i + 1],
            variances[2 * i + 1],
        )
        for i in (0, 1)
    ]
    result = lift(groups[0], groups[1], currency="SEK")
    for point, interval in intervals_and_points(result):
        assert interval is None or interval.low <= point <= interval.high


def intervals_and_points(result: Lift) -> list[tuple[float, Interval | None]]:
    pairs: list[tuple[float, Interval | None]] = []
    for comparison in (result.conversion, result.purchases, result.revenue):
        pairs.append((comparison.difference, comparison.difference_interval))
        if comparison.relative is not None:
            pairs.append((comparison.relative, comparison.relative_interval))
    pairs.append((result.incremental_revenue, result.incremental_revenue_interval))
    return pairs


@settings(max_examples=200, deadline=None)
@given(treated=summaries(), control=summaries(), confidence=st.floats(0.5, 0.999))
def test_every_interval_holds_its_point_estimate(
    treated: GroupSummary, control: GroupSummary, confidence: float
) -> None:
    result = lift(treated, control, currency="NOK", confidence=confidence)
    for point, interval in intervals_and_points(result):
        assert interval is not None
        assert interval.low <= point <= interval.high
    assert result.conversion.difference_interval is not None
    assert result.conversion.difference_interval.low >= -1
    assert result.conversion.difference_interval.high <= 1


@settings(max_examples=200, deadline=None)
@given(treated=summaries(), control=summaries())
def test_swapping_the_groups_mirrors_the_differences(
    treated: GroupSummary, control: GroupSummary
) -> None:
    forward = lift(treated, control, currency="SEK")
    backward = lift(control, treated, currency="SEK")
    for ahead, behind in (
        (forward.conversion, backward.conversion),
        (forward.purchases, backward.purchases),
        (forward.revenue, backward.revenue),
    ):
        assert ahead.difference == pytest.approx(-behind.difference)
        assert ahead.difference_interval is not None
        assert behind.difference_interval is not None
        assert ahead.difference_interval.low == pytest.approx(
            -behind.difference_interval.high, abs=1e-9
        )
        assert ahead.difference_interval.high == pytest.approx(
            -behind.difference_interval.low, abs=1e-9
        )
        if ahead.relative is not None:
            # the ratio turns over: (1 + r) becomes 1 / (1 + r), and so do its limits
            assert behind.relative is not None
            assert ahead.relative_interval is not None
            assert behind.relative_interval is not None
            assert 1 + ahead.relative == pytest.approx(1 / (1 + behind.relative))
            assert 1 + ahead.relative_interval.low == pytest.approx(
                1 / (1 + behind.relative_interval.high)
            )


@settings(max_examples=150, deadline=None)
@given(
    treated=summaries(), control=summaries(), low=st.floats(0.5, 0.9), more=st.floats(0.01, 0.09)
)
def test_more_confidence_gives_a_wider_interval_around_the_narrower(
    treated: GroupSummary, control: GroupSummary, low: float, more: float
) -> None:
    narrow = intervals_and_points(lift(treated, control, currency="SEK", confidence=low))
    wide = intervals_and_points(lift(treated, control, currency="SEK", confidence=low + more))
    for (_, inner), (_, outer) in zip(narrow, wide, strict=True):
        assert inner is not None
        assert outer is not None
        assert outer.low <= inner.low + 1e-12
        assert inner.high <= outer.high + 1e-12


@settings(max_examples=100, deadline=None)
@given(treated=summaries(), control=summaries(), factor=st.floats(0.01, 100))
def test_revenue_in_another_unit_scales_the_money_and_keeps_the_ratio(
    treated: GroupSummary, control: GroupSummary, factor: float
) -> None:
    def scaled(group: GroupSummary) -> GroupSummary:
        return GroupSummary(
            members=group.members,
            conversions=group.conversions,
            purchases_mean=group.purchases_mean,
            purchases_variance=group.purchases_variance,
            revenue_mean=group.revenue_mean * factor,
            revenue_variance=group.revenue_variance * factor**2,
        )

    plain = lift(treated, control, currency="SEK")
    other = lift(scaled(treated), scaled(control), currency="EUR")
    assert plain.revenue.difference_interval is not None
    assert other.revenue.difference_interval is not None
    assert other.revenue.difference_interval.low == pytest.approx(
        plain.revenue.difference_interval.low * factor, rel=1e-9, abs=1e-9
    )
    assert other.incremental_revenue == pytest.approx(
        plain.incremental_revenue * factor, rel=1e-9, abs=1e-9
    )
    if plain.revenue.relative is not None:
        assert other.revenue.relative == pytest.approx(plain.revenue.relative, rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------- what cannot be compared


def test_a_ratio_with_nothing_in_the_control_group_is_none() -> None:
    treated = GroupOutcomes.of([1, 0, 0, 1], [1, 0, 0, 2], [10.0, 0, 0, 30.0])
    control = GroupOutcomes.of([0, 0, 0], [0, 0, 0], [0.0, 0.0, 0.0], group="control")
    result = lift_of_outcomes(treated, control, currency="SEK")
    assert result.conversion.relative is None
    assert result.conversion.relative_interval is None
    assert result.revenue.relative is None
    assert result.conversion.difference == pytest.approx(0.5)
    assert result.conversion.difference_interval is not None


def test_one_member_in_a_group_has_no_welch_interval() -> None:
    treated = GroupOutcomes.of([1, 0, 1], [1, 0, 2], [10.0, 0, 30.0])
    control = GroupOutcomes.of([1], [1], [25.0], group="control")
    result = lift_of_outcomes(treated, control, currency="SEK")
    assert result.revenue.difference_interval is None
    assert result.incremental_revenue_interval is None
    assert result.conversion.difference_interval is not None


def test_an_empty_group_is_refused_by_name() -> None:
    treated = GroupOutcomes.of([1, 0], [1, 0], [10.0, 0.0])
    control = GroupOutcomes.of([], [], [], group="control")
    with pytest.raises(LiftInvalid, match="control") as caught:
        lift_of_outcomes(treated, control, currency="SEK")
    assert caught.value.field == "control"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (([1, 2], [1, 1], [1.0, 1.0]), "control.converted"),
        (([1, 0], [1, -1], [1.0, 1.0]), "control.purchases"),
        (([1, 0], [1.5, 0], [1.0, 1.0]), "control.purchases"),
        (([1, 0], [1, 0], [1.0, math.nan]), "control.revenue"),
        (([1, 0], [1, 0], [1.0]), "control"),
        ((["yes", 0], [1, 0], [1.0, 0.0]), "control.converted"),
        (([[1, 0]], [[1, 0]], [[1.0, 0.0]]), "control.converted"),
    ],
)
def test_bad_outcomes_are_refused_naming_the_field(
    arguments: tuple[list[object], list[object], list[object]], field: str
) -> None:
    with pytest.raises(LiftInvalid) as caught:
        GroupOutcomes.of(*arguments, group="control")  # type: ignore[arg-type]
    assert caught.value.field == field
    assert field in caught.value.detail


def test_bad_settings_are_refused_naming_the_field() -> None:
    group = GroupSummary.of(GroupOutcomes.of([1, 0], [1, 0], [10.0, 0.0]))
    for confidence in (0.0, 1.0, 95.0, math.nan):
        with pytest.raises(LiftInvalid) as caught:
            lift(group, group, currency="SEK", confidence=confidence)
        assert caught.value.field == "confidence"
    for currency in ("sek", "KRONA", ""):
        with pytest.raises(LiftInvalid) as caught:
            lift(group, group, currency=currency)
        assert caught.value.field == "currency"
    with pytest.raises(LiftInvalid) as caught:
        wilson_interval(3, 2)
    assert caught.value.field == "successes"
    with pytest.raises(LiftInvalid) as caught:
        GroupSummary.from_sums(
            members=5,
            conversions=6,
            purchases=0,
            purchases_squared=0,
            revenue=0,
            revenue_squared=0,
        )
    assert caught.value.field == "conversions"
