"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting Your Customers
the Easy Way", Marketing Science 24(2)). Pure: NumPy and SciPy.

While active, a member buys at rate λ (Poisson); λ varies across members as Gamma(r, α).
After each purchase the member drops out with probability p; p varies as Beta(a, b). A
member is summarised by ``x`` (repeat purchases), ``t_x`` (time of the last one, from the
first purchase) and ``T`` (time from the first purchase to the end of the data), all in the
summary's time unit.

The likelihood (FHL 2005, eq. 6), per member::

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / Γ(r) · [ (α+T)^-(r+x)
        + δ(x>0) · a/(b+x-1) · (α+t_x)^-(r+x) ]

is evaluated in logs (``logaddexp`` of the two terms), with its exact gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, gammaln, hyp2f1

from lojal.insight.arrays import FloatArray, as_float, factorize, group_rows
from lojal.insight.fitting import maximise


@dataclass(frozen=True)
class BGNBD:
    """Fitted (or given) BG/NBD parameters."""

    r: float
    alpha: float
    a: float
    b: float

    def log_likelihood(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        """Each member's log-likelihood."""
        xs, ts, Ts = as_float(x), as_float(t_x), as_float(T)
        return _terms(self.r, self.alpha, self.a, self.b, xs, ts, Ts)[0]

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        """The probability that each member is still active at ``T`` (FHL 2005, eq. 11 of
        the technical note): ``1 / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x))``."""
        xs, ts, Ts = as_float(x), as_float(t_x), as_float(T)
        return _p_alive(self, xs, ts, Ts)

    def expected_purchases(
        self, t: float, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """The expected number of purchases in the next ``t`` time units of each member with
        history ``(x, t_x, T)`` (FHL 2005, eq. 10): ``p_alive × purchases_if_alive``."""
        xs, ts, Ts = as_float(x), as_float(t_x), as_float(T)
        return self.purchases_if_alive(t, xs, Ts) * _p_alive(self, xs, ts, Ts)

    def purchases_if_alive(self, t: float, x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        """The expected purchases in the next ``t`` time units of a member who is still
        active, with ``x`` repeat purchases in ``T``: ``(a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x)
        ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]`` — it depends on ``(x, T)`` only, and the
        hypergeometric function is evaluated once per distinct pair."""
        xs, Ts = as_float(x), as_float(T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        (ux, uT), inverse = factorize(xs, Ts)
        z = t / (alpha + uT + t)
        head = (a + b + ux - 1) / (a - 1)
        tail = 1 - ((alpha + uT) / (alpha + uT + t)) ** (r + ux) * hyp2f1(
            r + ux, b + ux, a + b + ux - 1, z
        )
        return np.asarray((head * tail)[inverse], dtype=np.float64)

    def expected_purchases_new(self, t: npt.ArrayLike) -> FloatArray:
        """The expected number of repeat purchases in ``t`` time units after a new member's
        first purchase (FHL 2005, eq. 9)."""
        ts = as_float(t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = ts / (alpha + ts)
        tail = 1 - (alpha / (alpha + ts)) ** r * hyp2f1(r, b, a + b - 1, z)
        value = (a + b - 1) / (a - 1) * tail
        return np.asarray(value, dtype=np.float64)


@dataclass(frozen=True)
class BGNBDFit:
    model: BGNBD
    log_likelihood: float
    members: int
    iterations: int
    converged: bool


def _p_alive(model: BGNBD, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    out = np.ones(len(x))
    rep = x > 0
    xr = x[rep]
    log_odds = (
        np.log(a)
        - np.log(b + xr - 1)
        + (r + xr) * (np.log(alpha + T[rep]) - np.log(alpha + t_x[rep]))
    )
    out[rep] = 1 / (1 + np.exp(log_odds))
    return out


def _terms(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per row: the log-likelihood, the weight of the ``t_x`` term (its share of the
    bracket) and the four partial derivatives."""
    rep = x > 0
    log_aT = np.log(alpha + T)
    log_at = np.log(alpha + t_x)
    a3 = -(r + x) * log_aT
    b_x1 = np.where(rep, b + x - 1, 1.0)
    a4 = np.where(rep, np.log(a) - np.log(b_x1) - (r + x) * log_at, -np.inf)
    bracket = np.logaddexp(a3, a4)
    p4 = np.exp(a4 - bracket)
    p3 = 1 - p4
    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b) + bracket
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - p3 * log_aT - p4 * log_at
    d_alpha = r / alpha - p3 * (r + x) / (alpha + T) - p4 * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + p4 / a
    d_b = digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x) - p4 / b_x1
    return ll, p4, d_r, d_alpha, d_a, d_b


def fit_bgnbd(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    start: tuple[float, float, float, float] | None = None,
) -> BGNBDFit:
    """Maximum-likelihood BG/NBD parameters for members ``(x, t_x, T)`` (optionally
    ``weights``: how many members each row stands for)."""
    rows = group_rows(x, t_x, T, weights)
    w = rows.weight
    n = float(w.sum())
    # what depends on x alone is computed once per distinct x, and summed with its weight
    (ux,), ix = factorize(rows.x)
    (ut,), it = factorize(rows.t_x)
    (uT,), iT = factorize(rows.T)
    wx = np.bincount(ix, weights=w, minlength=len(ux))
    rep = ux > 0
    xw = rows.x * w  # x · w per row

    def ll_grad(theta: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = (float(v) for v in theta)
        log_aT, log_at = np.log(alpha + uT), np.log(alpha + ut)
        b_x1 = np.where(rep, b + ux - 1, 1.0)
        c4 = np.where(rep, np.log(a) - np.log(b_x1), -np.inf)
        rx = r + rows.x
        a3 = -rx * log_aT[iT]
        a4 = c4[ix] - rx * log_at[it]
        bracket = np.logaddexp(a3, a4)
        p4 = np.exp(a4 - bracket)
        wp4 = w * p4
        wp3 = w - wp4
        ll = (
            np.dot(wx, gammaln(r + ux) + betaln(a, b + ux))
            + n * (r * np.log(alpha) - gammaln(r) - betaln(a, b))
            + np.dot(w, bracket)
        )
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + ux)
        d_r = (
            np.dot(wx, digamma(r + ux))
            + n * (np.log(alpha) - digamma(r))
            - np.dot(wp3, log_aT[iT])
            - np.dot(wp4, log_at[it])
        )
        inv_T, inv_t = (1 / (alpha + uT))[iT], (1 / (alpha + ut))[it]
        d_alpha = n * r / alpha - r * (np.dot(wp3, inv_T) + np.dot(wp4, inv_t))
        d_alpha -= np.dot(xw, p4 * inv_t + (1 - p4) * inv_T)
        d_a = np.dot(wx, psi_ab - psi_abx) + wp4.sum() / a
        d_b = np.dot(wx, psi_ab + digamma(b + ux) - digamma(b) - psi_abx) - np.dot(
            wp4, (1 / b_x1)[ix]
        )
        return float(ll), np.array([d_r, d_alpha, d_a, d_b])

    if start is None:
        start = (1.0, float(np.average(rows.T, weights=w)), 1.0, 1.0)
    optimum = maximise(with_gradient=ll_grad, start=start, scale=rows.members)
    r, alpha, a, b = (float(v) for v in optimum.params)
    return BGNBDFit(
        model=BGNBD(r=r, alpha=alpha, a=a, b=b),
        log_likelihood=optimum.log_likelihood,
        members=round(rows.members),
        iterations=optimum.iterations,
        converged=optimum.converged,
    )
