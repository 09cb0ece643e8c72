"""sBG and BdW on the two cohorts of Fader & Hardie (2007), "How to Project Customer
Retention": % of 1,000 still customers at the start of years 0-7."""

from __future__ import annotations

import numpy as np
import pytest

from lojal.insight.retention import (
    BetaDiscreteWeibull,
    ShiftedBetaGeometric,
    fit_bdw,
    fit_sbg,
)

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


@pytest.mark.parametrize(
    ("cohort", "alpha", "beta"), [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)]
)
def test_sbg_matches_the_published_estimates(cohort: list[int], alpha: float, beta: float) -> None:
    fit = fit_sbg(cohort)
    assert fit.converged
    assert isinstance(fit.model, ShiftedBetaGeometric)
    assert (round(fit.model.alpha, 3), round(fit.model.beta, 3)) == (alpha, beta)
    assert fit.periods == 7


def test_sbg_survival_and_retention() -> None:
    m = ShiftedBetaGeometric(alpha=0.704, beta=1.182)
    s = m.survival(np.arange(13))
    assert s[0] == 1.0
    assert np.all(np.diff(s) < 0)
    # the model's fit to the Regular cohort, year 1 (63.1 % observed) and 12 years out
    assert s[1] == pytest.approx(1.182 / (0.704 + 1.182))
    assert 0.15 < s[12] < 0.2
    # retention rates rise with tenure: the likely leavers have left
    r = m.retention_rate([1, 2, 3, 4])
    assert np.all(np.diff(r) > 0)
    np.testing.assert_allclose(r[1:], s[2:5] / s[1:4])


def test_derl_is_the_discounted_sum_of_future_survival() -> None:
    m = ShiftedBetaGeometric(alpha=0.704, beta=1.182)
    t = np.arange(4000)
    s = m.survival(t)
    for renewals in (0, 1, 4):
        n = renewals + 1
        direct = sum(s[n + k] / s[n - 1] / 1.1**k for k in range(3000))
        assert m.discounted_expected_residual_lifetime(renewals, 0.1) == pytest.approx(direct)


def test_bdw_with_c_one_is_the_sbg() -> None:
    t = np.arange(8)
    np.testing.assert_allclose(
        BetaDiscreteWeibull(0.7, 1.2, 1.0).survival(t), ShiftedBetaGeometric(0.7, 1.2).survival(t)
    )
    fit = fit_bdw(REGULAR)
    sbg = fit_sbg(REGULAR)
    # one more parameter never fits worse
    assert fit.log_likelihood >= sbg.log_likelihood - 1e-6
    assert isinstance(fit.model, BetaDiscreteWeibull)
    observed = np.array(REGULAR) / 1000
    np.testing.assert_allclose(fit.model.survival(t), observed, atol=0.01)


def test_bad_cohorts_are_refused() -> None:
    with pytest.raises(ValueError, match="never grow"):
        fit_sbg([100, 80, 90])
    with pytest.raises(ValueError, match="at least one"):
        fit_sbg([100])
