"""The Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987). Pure:
NumPy and SciPy.

While alive, a member buys at rate λ (Poisson), λ ~ Gamma(r, α) across members; the member's
lifetime is exponential with rate μ, μ ~ Gamma(s, β). The likelihood is the one derived in
Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions"::

    L = Γ(r+x) α^r β^s / Γ(r) · [ 1 / ((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A₀ ]

    A₀ = F(t_x) − F(T),  with, for α ≥ β,
    F(y) = ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+y)) / (α+y)^(r+s+x)
    and, for α < β,
    F(y) = ₂F₁(r+s+x, r+x; r+s+x+1; (β−α)/(β+y)) / (β+y)^(r+s+x).

Choosing the branch by the larger of α and β keeps the hypergeometric argument in [0, 1),
where its series converges (the note's point). Everything else is done in logs: ``log F`` is
``log ₂F₁ − (r+s+x) log(·)``, ``log A₀ = log F(t_x) + log1p(−F(T)/F(t_x))``, and the bracket
is a ``logaddexp`` — so members with many purchases do not overflow ``(α+T)^(r+x)``. The
hypergeometric function is evaluated once per distinct ``(x, t_x)`` and ``(x, T)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln, hyp2f1

from lojal.insight.arrays import FloatArray, IntArray, as_float, factorize, group_rows
from lojal.insight.fitting import maximise


@dataclass(frozen=True)
class ParetoNBD:
    """Fitted (or given) Pareto/NBD parameters."""

    r: float
    alpha: float
    s: float
    beta: float

    def log_likelihood(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        """Each member's log-likelihood."""
        parts = _Parts.of(as_float(x), as_float(t_x), as_float(T))
        first, second = parts.bracket_terms(self.r, self.alpha, self.s, self.beta)
        return self._head(parts.x) + np.logaddexp(first, second)

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        """The probability that each member is still alive at ``T``:
        ``1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A₀)``."""
        parts = _Parts.of(as_float(x), as_float(t_x), as_float(T))
        first, second = parts.bracket_terms(self.r, self.alpha, self.s, self.beta)
        return np.asarray(1 / (1 + np.exp(second - first)), dtype=np.float64)

    def expected_purchases(
        self, t: float, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """The expected number of purchases in the next ``t`` time units of each member:
        ``p_alive × purchases_if_alive``."""
        return self.p_alive(x, t_x, T) * self.purchases_if_alive(t, x, T)

    def purchases_if_alive(self, t: float, x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        """The expected purchases in the next ``t`` time units of a member still alive at
        ``T`` with ``x`` repeat purchases:
        ``(r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)]``."""
        xs, Ts = as_float(x), as_float(T)
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        if abs(s - 1) < 1e-9:  # the limit s → 1
            rate = (r + xs) * (beta + Ts) / (alpha + Ts) * np.log((beta + Ts + t) / (beta + Ts))
        else:
            rate = (
                (r + xs)
                * (beta + Ts)
                / ((alpha + Ts) * (s - 1))
                * (1 - ((beta + Ts) / (beta + Ts + t)) ** (s - 1))
            )
        return np.asarray(rate, dtype=np.float64)

    def expected_purchases_new(self, t: npt.ArrayLike) -> FloatArray:
        """The expected number of purchases in ``t`` time units of a new member:
        ``r β / (α (s−1)) · [1 − (β/(β+t))^(s−1)]``."""
        ts = as_float(t)
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        value = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + ts)) ** (s - 1))
        return np.asarray(value, dtype=np.float64)

    def _head(self, x: FloatArray) -> FloatArray:
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        return np.asarray(
            gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta), dtype=np.float64
        )


@dataclass(frozen=True)
class ParetoNBDFit:
    model: ParetoNBD
    log_likelihood: float
    members: int
    iterations: int
    converged: bool


@dataclass(frozen=True)
class _Parts:
    """Rows split into the distinct (x, t_x) and (x, T) pairs the hypergeometric terms
    need."""

    x: FloatArray
    T: FloatArray
    px: FloatArray  # distinct (x, t_x)
    pt: FloatArray
    ip: IntArray
    qx: FloatArray  # distinct (x, T)
    qT: FloatArray
    iq: IntArray

    @classmethod
    def of(cls, x: FloatArray, t_x: FloatArray, T: FloatArray) -> _Parts:
        (px, pt), ip = factorize(x, t_x)
        (qx, qT), iq = factorize(x, T)
        return cls(x=x, T=T, px=px, pt=pt, ip=ip, qx=qx, qT=qT, iq=iq)

    def bracket_terms(
        self, r: float, alpha: float, s: float, beta: float
    ) -> tuple[FloatArray, FloatArray]:
        """The logs of the bracket's two terms per row: ``−(r+x)log(α+T) − s log(β+T)`` and
        ``log(s/(r+s+x)) + log A₀``."""
        x, T = self.x, self.T
        first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        log_f_tx = _log_f(r, alpha, s, beta, self.px, self.pt)[self.ip]
        log_f_T = _log_f(r, alpha, s, beta, self.qx, self.qT)[self.iq]
        with np.errstate(divide="ignore"):
            # F(T) ≤ F(t_x); equal (A₀ = 0, log −inf) when the last purchase is at T
            log_a0 = log_f_tx + np.log1p(-np.exp(np.minimum(log_f_T - log_f_tx, 0.0)))
        second = np.log(s) - np.log(r + s + x) + log_a0
        return np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)


def _log_f(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, y: FloatArray
) -> FloatArray:
    """``log F(y)`` of the note, on the branch where the argument is in [0, 1)."""
    big = r + s + x
    if alpha >= beta:
        value = np.log(hyp2f1(big, s + 1, big + 1, (alpha - beta) / (alpha + y))) - big * np.log(
            alpha + y
        )
    else:
        value = np.log(hyp2f1(big, r + x, big + 1, (beta - alpha) / (beta + y))) - big * np.log(
            beta + y
        )
    return np.asarray(value, dtype=np.float64)


def fit_paretonbd(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    start: tuple[float, float, float, float] | None = None,
) -> ParetoNBDFit:
    """Maximum-likelihood Pareto/NBD parameters for members ``(x, t_x, T)`` (optionally
    ``weights``: how many members each row stands for)."""
    rows = group_rows(x, t_x, T, weights)
    parts = _Parts.of(rows.x, rows.t_x, rows.T)
    w = rows.weight

    def ll(theta: FloatArray) -> float:
        r, alpha, s, beta = (float(v) for v in theta)
        model = ParetoNBD(r=r, alpha=alpha, s=s, beta=beta)
        first, second = parts.bracket_terms(r, alpha, s, beta)
        return float(np.dot(w, model._head(rows.x) + np.logaddexp(first, second)))

    if start is None:
        mean_T = float(np.average(rows.T, weights=w))
        start = (1.0, mean_T, 1.0, mean_T)
    optimum = maximise(ll, start=start, scale=rows.members)
    r, alpha, s, beta = (float(v) for v in optimum.params)
    return ParetoNBDFit(
        model=ParetoNBD(r=r, alpha=alpha, s=s, beta=beta),
        log_likelihood=optimum.log_likelihood,
        members=round(rows.members),
        iterations=optimum.iterations,
        converged=optimum.converged,
    )
