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
    (ux, uz), inverse = factorize(xs, zs)
    uw = np.bincount(inverse, weights=w, minlength=len(ux)).astype(np.float64)

    def ll_grad(theta: FloatArray) -> tuple[float, FloatArray]:
        p, q, g = (float(v) for v in theta)
        ll, d_p, d_q, d_g = _terms(p, q, g, ux, uz)
        return float(np.dot(uw, ll)), np.array([np.dot(uw, d) for d in (d_p, d_q, d_g)])

    if start is None:
        start = (1.0, 1.0, float(np.average(uz, weights=uw)))
    optimum = maximise(with_gradient=ll_grad, start=start, scale=float(uw.sum()))
    p, q, g = (float(v) for v in optimum.params)
    return GammaGammaFit(
        model=GammaGamma(p=p, q=q, gamma=g),
        log_likelihood=optimum.log_likelihood,
        members=round(float(uw.sum())),
        iterations=optimum.iterations,
        converged=optimum.converged,
    )
