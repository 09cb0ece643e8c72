"""IFRS 15 for points: the allocation by relative stand-alone selling prices, the cumulative
catch-up, and the cohorts with their estimated redemption rate — on the standard's Example 52
and on the worked example of the programme's specification, to the unit."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lojal.ledger.breakage import (
    Cohort,
    allocate,
    catch_up,
    estimate_rates,
    expected_redeemed,
    points_ssp,
    recognise,
    recognised_to_date,
    state_at,
)


def test_the_specification_example_year_two_and_three() -> None:
    """9,000 allocated to 10,000 points, 97 % expected: year 2 redeems 4,500 → 4,175; year 3
    reaches 8,500 redeemed with 9,900 now expected → 3,552."""
    years = catch_up(9_000, [(0, 9_700), (4_500, 9_700), (8_500, 9_900)])
    assert [y.revenue for y in years] == [0, 4_175, 3_552]
    assert years[-1].to_date == 4_175 + 3_552


def test_the_specification_example_with_fewer_expected() -> None:
    years = catch_up(9_000, [(4_500, 9_700), (8_500, 9_200)])
    assert [y.revenue for y in years] == [4_175, 4_140]


def test_ifrs_15_example_52_allocation_and_recognition() -> None:
    """IE267-IE270: 100,000 for goods and 10,000 points worth 1, 9,500 expected; 4,500 redeemed
    in year 1 (4,110), 8,500 by year 2 with 9,700 then expected (3,493)."""
    ssp = points_ssp(10_000, point_value=1, expected_rate=Fraction(95, 100))
    assert ssp == 9_500
    allocation = allocate(100_000, points_ssp=ssp)
    assert (allocation.to_points, allocation.to_goods) == (8_676, 91_324)
    years = catch_up(allocation.to_points, [(4_500, 9_500), (8_500, 9_700)])
    assert [y.revenue for y in years] == [4_110, 3_493]


def test_the_specification_allocation_is_not_relative_ssp_of_its_data() -> None:
    """Why 9,000 is an input: the relative SSP of its own figures gives 8,842."""
    ssp = points_ssp(10_000, point_value=Decimal("1"), expected_rate=Decimal("0.97"))
    assert allocate(100_000, points_ssp=ssp).to_points == 8_842


def test_the_same_example_as_a_cohort_month_by_month() -> None:
    cohort = Cohort(
        month=0,
        issued=10_000,
        allocated=9_000,
        redeemed=[0, 4_500, 4_000],
        expired=[0, 0, 0],
        taken_back=[0, 0, 0],
    )
    rates = [Fraction(97, 100), Fraction(97, 100), Fraction(99, 100)]
    months = recognise([cohort], rates=rates, point_value=1)
    assert [m.revenue for m in months] == [0, 4_175, 3_552]
    assert months[0].allocated == 9_000
    assert months[-1].contract_liability == 9_000 - 7_727
    assert months[-1].outstanding == 1_500
    assert months[-1].expected_breakage == 100  # 1,500 left, 1,400 of them expected


def test_all_of_the_allocation_is_recognised_when_the_cohort_closes() -> None:
    cohort = Cohort(0, 1_000, allocated=800, redeemed=[600, 0], expired=[0, 400])
    months = recognise([cohort], rates=[Fraction(9, 10)] * 2, point_value=1)
    assert months[0].revenue == round(Fraction(600, 900) * 800)
    assert months[1].recognised == 800
    assert months[1].contract_liability == 0
    assert months[1].outstanding == 0


def test_the_rate_comes_from_closed_cohorts_and_is_full_until_one_closes() -> None:
    first = Cohort(0, 1_000, redeemed=[500, 300, 0], expired=[0, 0, 200])
    second = Cohort(1, 400, redeemed=[0, 100, 100], expired=[0, 0, 0])
    rates = estimate_rates([first, second], 3)
    assert [r.rate for r in rates] == [1, 1, Fraction(800, 1_000)]
    assert [r.closed_cohorts for r in rates] == [0, 0, 1]


def test_an_allocation_from_sales_uses_the_rate_known_when_the_month_began() -> None:
    first = Cohort(0, 1_000, sales=10_000, redeemed=[0, 0], expired=[0, 0])
    second = Cohort(1, 1_000, sales=10_000, redeemed=[0, 0], expired=[0, 0])
    months = recognise([first, second], rates=[Fraction(1, 2), 1], point_value=1)
    assert months[0].allocated == round(Fraction(10_000 * 1_000, 11_000))
    assert months[1].allocated == round(Fraction(10_000 * 500, 10_500))


def test_expected_redemptions_stay_between_what_happened_and_what_is_left() -> None:
    cohort = Cohort(0, 1_000, redeemed=[700], expired=[200])
    state = state_at(cohort, 0)
    assert expected_redeemed(state, Fraction(1, 2)) == 700  # no fewer than redeemed
    assert expected_redeemed(state, 1) == 800  # no more than redeemed + outstanding


def test_bad_input_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="price"):
        allocate(-1, points_ssp=1)
    with pytest.raises(ValueError, match="redeemed"):
        recognised_to_date(10, redeemed=-1, expected=5)


@given(
    allocated=st.integers(0, 10**9),
    steps=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 20_000)), max_size=12),
)
def test_the_periods_add_up_to_what_is_recognised_and_never_pass_the_allocation(
    allocated: int, steps: list[tuple[int, int]]
) -> None:
    redeemed = 0
    progress = []
    for more, expected in steps:
        redeemed += more
        progress.append((redeemed, expected))
    years = catch_up(allocated, progress)
    assert sum(y.revenue for y in years) == (years[-1].to_date if years else 0)
    assert all(0 <= y.to_date <= allocated for y in years)
