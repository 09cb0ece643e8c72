"""The summary built from raw purchases is the published CDNOW summary."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from lojal.insight.arrays import FloatArray
from lojal.insight.summary import Transactions, holdout, summarise
from tests.insight.cdnow import CALIBRATION_END, HOLDOUT_END, published, sample_transactions


def cents_half_up(values: FloatArray) -> FloatArray:
    return np.floor(values * 100 + 0.5 + 1e-9) / 100


def test_the_raw_sample_gives_the_published_summary() -> None:
    d = published()
    s = summarise(sample_transactions(), calibration_end=CALIBRATION_END)
    assert len(s) == 2357
    np.testing.assert_array_equal(s.member_id, d.id)
    np.testing.assert_array_equal(s.x, d.x)
    np.testing.assert_array_equal(np.round(s.t_x, 2), d.t_x)
    np.testing.assert_array_equal(np.round(s.T, 2), d.T)
    np.testing.assert_array_equal(cents_half_up(s.monetary), d.zbar)
    assert s.x.sum() == 2457  # repeat transactions in the calibration period


def test_same_day_purchases_are_one_transaction() -> None:
    day = date(2026, 3, 2).toordinal()
    t = Transactions.collapse([7, 7, 7, 3], [day, day, day + 2, day], [10.0, 5.0, 20.0, 1.0])
    np.testing.assert_array_equal(t.member_id, [3, 7, 7])
    np.testing.assert_array_equal(t.day, [day, day, day + 2])
    np.testing.assert_array_equal(t.value, [1.0, 15.0, 20.0])
    s = summarise(t, calibration_end=date(2026, 3, 16), unit_days=1)
    np.testing.assert_array_equal(s.member_id, [3, 7])
    np.testing.assert_array_equal(s.x, [0, 1])
    np.testing.assert_array_equal(s.t_x, [0, 2])
    np.testing.assert_array_equal(s.T, [14, 14])
    np.testing.assert_array_equal(s.monetary, [0, 20])  # the first transaction left out
    np.testing.assert_array_equal(s.total, [1, 35])
    np.testing.assert_array_equal(s.transactions, [1, 2])


def test_members_first_seen_on_the_last_day_or_later_are_left_out() -> None:
    end = date(2026, 3, 16)
    t = Transactions.collapse([1, 2, 3], [end.toordinal() - 1, end.toordinal(), 800000], [1, 1, 1])
    s = summarise(t, calibration_end=end)
    np.testing.assert_array_equal(s.member_id, [1])
    assert s.T[0] == pytest.approx(1 / 7)


def test_holdout_counts_each_member_s_later_transactions() -> None:
    t = sample_transactions()
    s = summarise(t, calibration_end=CALIBRATION_END)
    h = holdout(s, t, end=HOLDOUT_END)
    assert h.length == 39.0
    assert h.purchases.sum() == 1882
    assert len(h.purchases) == len(s)
    assert h.value.sum() > 0
    with pytest.raises(ValueError, match="after the calibration"):
        holdout(s, t, end=CALIBRATION_END)
