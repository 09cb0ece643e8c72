"""The Gamma-Gamma model of spend per transaction (Fader & Hardie 2013, "The Gamma-Gamma
Model of Monetary Value"; Colombo & Jiang 1999). Pure: NumPy and SciPy.

A member's transactions are worth Gamma(p, ν) each; ν varies across members as
Gamma(q, γ). Spend is assumed independent of how often a member buys. For a member with
``x ≥ 1`` repeat transactions of mean value ``z̄`` the likelihood is::

    f(z̄ | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q x^(px) z̄^(px−1) / (γ + x z̄)^(px+q)

The model is fitted on members with ``x > 0`` only (a member without a repeat purchase says
nothing about the spread of one member's spend), with the mean value of the *repeat*
transactions (the first one excluded, as in the published CDNOW analysis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln

from lojal.insight.arrays import FloatArray, as_float, factorize
from lojal.insight.fitting import maximise


@dataclass(frozen=True)
class GammaGamma:
    """Fitted (or given) Gamma-Gamma parameters."""

    p: float
    q: float
    gamma: float

    @property
    def population_mean(self) -> float:
        """The mean spend per transaction across members: ``pγ/(q−1)`` (infinite when
        ``q ≤ 1``)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")

    def log_likelihood(self, x: npt.ArrayLike, zbar: npt.ArrayLike) -> FloatArray:
        """Each member's log-likelihood (``x > 0``)."""
        return _terms(self.p, self.q, self.gamma, as_float(x), as_float(zbar))[0]

    def expected_spend(self, x: npt.ArrayLike, zbar: npt.ArrayLike) -> FloatArray:
        """The expected value of each member's future transactions:
        ``(p(γ + x z̄)) / (px + q − 1)`` — a weighted average of the population mean and the
        member's own ``z̄``, weighted towards ``z̄`` the more transactions there are. A member
        with ``x = 0`` gets the population mean."""
        xs, zs = as_float(x), as_float(zbar)
        p, q, g = self.p, self.q, self.gamma
        return np.asarray(p * (g + xs * zs) / (p * xs + q - 1), dtype=np.float64)


@dataclass(frozen=True)
class GammaGammaFit:
    model: GammaGamma
    log_likelihood: float
    members: int
    iterations: int
    converged: bool


def _terms(
    p: float, q: float, g: float, x: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    px = p * x
    log_sum = np.log(g + x * z)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + px * np.log(x)
        + (px - 1) * np.log(z)
        - (px + q) * log_sum
    )
    d_p = x * (digamma(px + q) - digamma(px) + np.log(x) + np.log(z) - log_sum)
    d_q = digamma(px + q) - digamma(q) + np.log(g) - log_sum
    d_g = q / g - (px + q) / (g + x * z)
    return ll, d_p, d_q, d_g


def fit_gammagamma(
    x: npt.ArrayLike,
    zbar: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    start: tuple[float, float, float] | None = None,
) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma parameters from the members with ``x > 0`` repeat
    transactions and their mean repeat spend ``zbar > 0`` (members with ``x = 0`` are left
    out here, so the whole summary can be passed)."""
    xs, zs = as_float(x), as_float(zbar)
    w = np.ones(len(xs)) if weights is None else as_float(weights)
    keep = xs > 0
    xs, zs, w = xs[keep], zs[keep], w[keep]
    if len(xs) == 0:
        raise ValueError("no member with a repeat purchase to fit spend on")
    if np.any(zs <= 0):
        raise ValueError("the mean spend of a member with repeat purchases must be > 0")
    # the terms of x alone once per distinct x; the sums of constants once per fit
    (ux,), ix = factorize(xs)
    wx = np.bincount(ix, weights=w, minlength=len(ux))
    log_z = np.log(zs)
    xz = xs * zs
    n = float(w.sum())
    sum_wx_log_xz = float(np.dot(w * xs, np.log(xs) + log_z))  # Σ w x (log x + log z̄)
    sum_w_log_z = float(np.dot(w, log_z))
    wxs = w * xs

    def ll_grad(theta: FloatArray) -> tuple[float, FloatArray]:
        p, q, g = (float(v) for v in theta)
        log_sum = np.log(g + xz)
        px = p * ux
        lg = gammaln(px + q) - gammaln(px)
        psi_pq, psi_p = digamma(px + q), digamma(px)
        w_log_sum = np.dot(w, log_sum)
        wx_log_sum = np.dot(wxs, log_sum)
        ll = (
            np.dot(wx, lg)
            + n * (q * np.log(g) - gammaln(q))
            + p * sum_wx_log_xz
            - sum_w_log_z
            - p * wx_log_sum
            - q * w_log_sum
        )
        d_p = np.dot(wx * ux, psi_pq - psi_p) + sum_wx_log_xz - wx_log_sum
        d_q = np.dot(wx, psi_pq) - n * digamma(q) + n * np.log(g) - w_log_sum
        inv = 1 / (g + xz)
        d_g = n * q / g - p * np.dot(wxs, inv) - q * np.dot(w, inv)
        return float(ll), np.array([d_p, d_q, d_g])

    if start is None:
        start = (1.0, 1.0, float(np.average(zs, weights=w)))
    optimum = maximise(with_gradient=ll_grad, start=start, scale=n)
    p, q, g = (float(v) for v in optimum.params)
    return GammaGammaFit(
        model=GammaGamma(p=p, q=q, gamma=g),
        log_likelihood=optimum.log_likelihood,
        members=round(n),
        iterations=optimum.iterations,
        converged=optimum.converged,
    )
