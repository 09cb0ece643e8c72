"""The fits reproduce the published CDNOW estimates (to 3 significant figures, and the
log-likelihoods to 0.1), and the predictions agree with the lifetimes package's."""

from __future__ import annotations

import numpy as np
import pytest

from lojal.insight.bgnbd import BGNBD, fit_bgnbd
from lojal.insight.clv import DAYS_PER_MONTH, discounted_purchases
from lojal.insight.gammagamma import fit_gammagamma
from lojal.insight.paretonbd import ParetoNBD, fit_paretonbd
from tests.insight.cdnow import published


def sig3(value: float) -> str:
    return f"{value:.3g}"


def test_bgnbd_matches_fader_hardie_lee_2005() -> None:
    d = published()
    fit = fit_bgnbd(d.x, d.t_x, d.T)
    m = fit.model
    assert fit.converged
    assert [sig3(v) for v in (m.r, m.alpha, m.a, m.b)] == ["0.243", "4.41", "0.793", "2.43"]
    assert (round(m.r, 3), round(m.alpha, 3), round(m.a, 3), round(m.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert round(fit.log_likelihood, 1) == -9582.4
    assert fit.members == 2357


def test_paretonbd_matches_the_published_estimates() -> None:
    d = published()
    fit = fit_paretonbd(d.x, d.t_x, d.T)
    m = fit.model
    assert fit.converged
    assert [sig3(v) for v in (m.r, m.alpha, m.s, m.beta)] == ["0.553", "10.6", "0.606", "11.7"]
    assert (round(m.r, 3), round(m.alpha, 2), round(m.s, 3)) == (0.553, 10.58, 0.606)
    assert m.beta == pytest.approx(11.669, abs=0.005)
    assert round(fit.log_likelihood, 1) == -9595.0


def test_gammagamma_matches_fader_hardie_2013() -> None:
    d = published()
    fit = fit_gammagamma(d.x, d.zbar)  # members with x = 0 are left out by the fit
    m = fit.model
    assert fit.members == 946
    assert [sig3(v) for v in (m.p, m.q, m.gamma)] == ["6.25", "3.74", "15.4"]
    assert (round(m.p, 2), round(m.q, 2), round(m.gamma, 2)) == (6.25, 3.74, 15.45)
    assert round(fit.log_likelihood, 1) == -4055.9
    # the published figures: the population mean spend and a member's expectation
    assert m.population_mean == pytest.approx(35.17, abs=0.01)


def test_weights_are_the_same_as_repeated_rows() -> None:
    d = published()
    one = fit_bgnbd(np.tile(d.x, 2), np.tile(d.t_x, 2), np.tile(d.T, 2))
    two = fit_bgnbd(d.x, d.t_x, d.T, weights=np.full(len(d.x), 2.0))
    assert one.model.r == pytest.approx(two.model.r, rel=1e-6)
    assert one.log_likelihood == pytest.approx(two.log_likelihood, rel=1e-9)


def test_the_gradient_is_the_likelihood_s_slope() -> None:
    d = published()
    fit = fit_bgnbd(d.x, d.t_x, d.T)
    m = fit.model
    # at the optimum a small step in any parameter only loses likelihood
    base = float(m.log_likelihood(d.x, d.t_x, d.T).sum())
    assert base == pytest.approx(fit.log_likelihood, abs=1e-6)
    for field in ("r", "alpha", "a", "b"):
        for factor in (0.99, 1.01):
            moved = BGNBD(**{**m.__dict__, field: getattr(m, field) * factor})
            assert float(moved.log_likelihood(d.x, d.t_x, d.T).sum()) < base


def test_bad_summaries_are_refused() -> None:
    with pytest.raises(ValueError, match="t_x"):
        fit_bgnbd([1], [5.0], [4.0])
    with pytest.raises(ValueError, match="whole numbers"):
        fit_bgnbd([1.5], [1.0], [4.0])
    with pytest.raises(ValueError, match="T"):
        fit_paretonbd([0], [0.0], [0.0])


def test_predictions_read_sensibly() -> None:
    d = published()
    bg = fit_bgnbd(d.x, d.t_x, d.T).model
    # no repeat purchase: the BG/NBD says alive (nobody can drop out before buying again)
    assert bg.p_alive([0], [0], [30])[0] == 1.0
    # the same purchases, the last one longer ago: less likely alive, fewer expected
    alive = bg.p_alive([5, 5], [35, 10], [38, 38])
    assert alive[0] > alive[1]
    expected = bg.expected_purchases(52, [5, 5], [35, 10], [38, 38])
    assert expected[0] > expected[1]
    pn = fit_paretonbd(d.x, d.t_x, d.T).model
    assert 0 < pn.p_alive([0], [0], [30])[0] < 1
    new = pn.expected_purchases_new([39.0, 78.0])
    assert 0 < new[0] < new[1]


# ---------------------------------------------------------------- the lifetimes oracle


def test_predictions_agree_with_lifetimes() -> None:
    lifetimes = pytest.importorskip("lifetimes")
    pd = pytest.importorskip("pandas")
    d = published()
    bg = fit_bgnbd(d.x, d.t_x, d.T).model
    pn = fit_paretonbd(d.x, d.t_x, d.T).model
    gg = fit_gammagamma(d.x, d.zbar).model

    ref_bg = lifetimes.BetaGeoFitter()
    ref_bg.params_ = pd.Series({"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b})
    ref_bg.predict = ref_bg.conditional_expected_number_of_purchases_up_to_time  # set by fit()
    ref_pn = lifetimes.ParetoNBDFitter()
    ref_pn.params_ = pd.Series({"r": pn.r, "alpha": pn.alpha, "s": pn.s, "beta": pn.beta})
    ref_gg = lifetimes.GammaGammaFitter()
    ref_gg.params_ = pd.Series({"p": gg.p, "q": gg.q, "v": gg.gamma})

    np.testing.assert_allclose(
        bg.p_alive(d.x, d.t_x, d.T), ref_bg.conditional_probability_alive(d.x, d.t_x, d.T), 1e-9
    )
    np.testing.assert_allclose(
        bg.expected_purchases(39, d.x, d.t_x, d.T),
        ref_bg.conditional_expected_number_of_purchases_up_to_time(39, d.x, d.t_x, d.T),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        bg.expected_purchases_new([10.0, 39.0]),
        ref_bg.expected_number_of_purchases_up_to_time(np.array([10.0, 39.0])),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        pn.p_alive(d.x, d.t_x, d.T), ref_pn.conditional_probability_alive(d.x, d.t_x, d.T), 1e-7
    )
    np.testing.assert_allclose(
        pn.expected_purchases(39, d.x, d.t_x, d.T),
        ref_pn.conditional_expected_number_of_purchases_up_to_time(39, d.x, d.t_x, d.T),
        rtol=1e-7,
    )
    repeat = d.x > 0
    np.testing.assert_allclose(
        gg.expected_spend(d.x[repeat], d.zbar[repeat]),
        ref_gg.conditional_expected_average_profit(
            pd.Series(d.x[repeat]), pd.Series(d.zbar[repeat])
        ),
        rtol=1e-9,
    )
    # 12-month CLV at 1 % a month; lifetimes counts a month as 4.345 weeks
    ours = discounted_purchases(bg, d.x, d.t_x, d.T, units_per_month=4.345) * gg.expected_spend(
        d.x, d.zbar
    )
    frame = pd.DataFrame({"x": d.x, "t_x": d.t_x, "T": d.T, "zbar": d.zbar})
    theirs = ref_gg.customer_lifetime_value(
        ref_bg, frame["x"], frame["t_x"], frame["T"], frame["zbar"], time=12, freq="W"
    )
    np.testing.assert_allclose(ours, theirs.to_numpy(), rtol=1e-9)
    assert pytest.approx(4.348, abs=1e-3) == DAYS_PER_MONTH / 7


def test_bgnbd_needs_no_a_above_one() -> None:
    # a < 1 (CDNOW's 0.79) and a > 1 give finite, positive expectations
    for a in (0.79, 2.5):
        m = BGNBD(r=0.24, alpha=4.4, a=a, b=2.4)
        e = m.expected_purchases(39, [0, 3], [0, 20], [38, 38])
        assert np.all(np.isfinite(e))
        assert np.all(e > 0)


def test_paretonbd_beta_above_alpha_takes_the_other_branch() -> None:
    # the likelihood is continuous where the branch changes (α = β)
    x, t_x, T = np.array([0.0, 2, 7]), np.array([0.0, 10, 30]), np.array([38.0, 38, 38])
    below = ParetoNBD(r=0.5, alpha=10.0, s=0.6, beta=10.0 - 1e-7).log_likelihood(x, t_x, T)
    above = ParetoNBD(r=0.5, alpha=10.0, s=0.6, beta=10.0 + 1e-7).log_likelihood(x, t_x, T)
    np.testing.assert_allclose(below, above, rtol=1e-6)
