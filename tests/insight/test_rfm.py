"""RFM scores, groups and the grid, and the top customers, on data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from lojal.insight.rfm import GROUP_MAP, GROUPS, quintile_scores, rfm, top_customers


def test_quintiles_of_ten_distinct_values() -> None:
    np.testing.assert_array_equal(
        quintile_scores([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]), [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    )


def test_ties_share_the_score_of_their_first_position() -> None:
    # half the members bought once: all of them F = 1, the next value starts at position 5
    np.testing.assert_array_equal(
        quintile_scores([1, 1, 1, 1, 1, 2, 2, 3, 4, 9]), [1, 1, 1, 1, 1, 3, 3, 4, 5, 5]
    )
    # the input's order does not matter
    values = np.array([3, 1, 2, 2, 5, 5, 5, 0])
    order = np.random.default_rng(1).permutation(len(values))
    np.testing.assert_array_equal(quintile_scores(values)[order], quintile_scores(values[order]))
    assert quintile_scores([]).size == 0


def test_the_map_covers_every_cell_with_the_eleven_groups() -> None:
    assert len(GROUP_MAP) == 25
    assert set(GROUP_MAP.values()) == set(GROUPS)
    assert GROUP_MAP[(5, 5)] == "champions"
    assert GROUP_MAP[(1, 5)] == "cant_lose_them"
    assert GROUP_MAP[(1, 1)] == "lost"
    assert GROUP_MAP[(5, 1)] == "new_customers"


def test_members_their_groups_and_the_grid() -> None:
    # five members, one per fifth of every score, so R, F and M are 1..5 as built:
    # a: recent, frequent, big; e: long ago, once, small; b: long ago but was big
    last = [500, 100, 300, 400, 200]  # a b c d e (days)
    freq = [9, 8, 3, 1, 2]
    money = [900.0, 1000.0, 300.0, 50.0, 100.0]
    result = rfm(last, freq, money)
    np.testing.assert_array_equal(result.r, [5, 1, 3, 4, 2])
    np.testing.assert_array_equal(result.f, [5, 4, 3, 1, 2])
    np.testing.assert_array_equal(result.m, [4, 5, 3, 1, 2])
    np.testing.assert_array_equal(result.fm, [5, 5, 3, 1, 2])  # (F+M)/2 rounded half up
    assert result.group == [
        "champions",
        "cant_lose_them",
        "need_attention",
        "promising",
        "about_to_sleep",
    ]
    assert len(result.grid) == 25
    assert (result.grid[0].r, result.grid[0].fm) == (5, 1)  # R = 5 first, FM = 1 first
    cells = {(c.r, c.fm): c for c in result.grid}
    assert cells[(5, 5)].members == 1
    assert cells[(5, 5)].revenue == 900.0
    assert cells[(1, 5)].revenue == 1000.0
    assert sum(c.members for c in result.grid) == 5
    groups = {g.group: g for g in result.groups}
    assert groups["champions"].share_of_revenue == pytest.approx(900 / 2350)
    assert groups["lost"].members == 0
    assert [g.group for g in result.groups] == list(GROUPS)


def test_top_ten_percent() -> None:
    # 10 members: one spends 300, nine spend 10 each: the top 10 % spend 30× the rest
    revenue = [10.0] * 9 + [300.0]
    top = top_customers(revenue)
    assert top.members == 1
    assert top.revenue_share == pytest.approx(300 / 390)
    assert top.times_rest == pytest.approx(30.0)
    assert top.member_index.tolist() == [9]


def test_top_share_rounds_up_and_ties_go_by_input_order() -> None:
    revenue = [5.0, 7.0, 7.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]  # 11 members: top 2
    top = top_customers(revenue)
    assert top.members == 2
    assert top.member_index.tolist() == [1, 2]
    assert top.top_mean == 7.0
    assert top.rest_mean == pytest.approx(13 / 9)
    with pytest.raises(ValueError, match="share"):
        top_customers(revenue, share=1.5)
