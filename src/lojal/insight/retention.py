"""Renewals of paid memberships: the shifted-beta-geometric (sBG) model of Fader & Hardie
(2007), "How to Project Customer Retention" (Journal of Interactive Marketing 21(1)), and the
beta-discrete-Weibull (BdW) of Fader, Hardie, Liu, Davin & Steenburgh (2018), "'How to
Project Customer Retention' Revisited: The Role of Duration Dependence" (Journal of
Interactive Marketing 43). Pure: NumPy and SciPy.

A member renews each period with a probability of their own; across members the churn
probability θ is Beta(α, β). The survivors of a cohort fall fast at first and then slowly —
not because anyone's loyalty grows but because the likely churners leave first. The input is
a cohort's survivor counts ``n₀, n₁, …, n_k`` (members still paying at the start of each
period; ``n₀`` joined):

* sBG: ``S(t) = B(α, β+t) / B(α, β)``; ``P(T = t) = S(t−1) − S(t)``;
* BdW: ``S(t) = B(α, β+t^c) / B(α, β)`` (``c = 1`` is the sBG; ``c < 1``: a member's own
  churn probability falls with tenure, ``c > 1``: it rises).

The likelihood of a cohort is ``Σₜ (n_{t−1} − n_t) log P(T = t) + n_k log S(k)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, hyp2f1

from lojal.insight.arrays import FloatArray, as_float
from lojal.insight.fitting import maximise


def _check(survivors: Sequence[float]) -> FloatArray:
    n = as_float(survivors)
    if len(n) < 2:
        raise ValueError("give the cohort's size and at least one later count")
    if np.any(n < 0) or np.any(np.diff(n) > 0):
        raise ValueError("survivor counts must be ≥ 0 and never grow")
    if n[0] <= 0:
        raise ValueError("the cohort must have members")
    return n


@dataclass(frozen=True)
class ShiftedBetaGeometric:
    alpha: float
    beta: float

    def survival(self, t: npt.ArrayLike) -> FloatArray:
        """The share of a cohort still a member after ``t`` periods."""
        ts = as_float(t)
        return np.asarray(
            np.exp(betaln(self.alpha, self.beta + ts) - betaln(self.alpha, self.beta)),
            dtype=np.float64,
        )

    def retention_rate(self, t: npt.ArrayLike) -> FloatArray:
        """The share of those who were members in period ``t−1`` that renew for period
        ``t``: ``(β + t − 1) / (α + β + t − 1)`` — it rises with ``t``."""
        ts = as_float(t)
        return np.asarray((self.beta + ts - 1) / (self.alpha + self.beta + ts - 1))

    def discounted_expected_residual_lifetime(self, renewals: int, discount: float) -> float:
        """DERL (Fader & Hardie 2010, "Customer-Base Valuation in a Contractual Setting"):
        the expected number of future payments of a member who has renewed ``renewals``
        times and is about to decide on the next renewal — that payment counted in full if
        made, each later one discounted by ``discount`` per period more. Multiply by the fee
        for the member's expected residual value. ``(β+n−1)/(α+β+n−1) · ₂F₁(1, β+n; α+β+n;
        1/(1+d))`` with ``n = renewals + 1``."""
        a, b, n = self.alpha, self.beta, float(renewals) + 1
        ratio = (b + n - 1) / (a + b + n - 1)
        return float(ratio * hyp2f1(1.0, b + n, a + b + n, 1 / (1 + discount)))


@dataclass(frozen=True)
class BetaDiscreteWeibull:
    alpha: float
    beta: float
    c: float

    def survival(self, t: npt.ArrayLike) -> FloatArray:
        ts = as_float(t)
        return np.asarray(
            np.exp(betaln(self.alpha, self.beta + ts**self.c) - betaln(self.alpha, self.beta)),
            dtype=np.float64,
        )

    def retention_rate(self, t: npt.ArrayLike) -> FloatArray:
        ts = as_float(t)
        return np.asarray(self.survival(ts) / self.survival(ts - 1), dtype=np.float64)


@dataclass(frozen=True)
class RetentionFit:
    model: ShiftedBetaGeometric | BetaDiscreteWeibull
    log_likelihood: float
    periods: int
    converged: bool


def _cohort_ll(survival: FloatArray, n: FloatArray) -> float:
    """``survival`` is S(0..k) of the model, ``n`` the counts."""
    lost = -np.diff(n)
    with np.errstate(divide="ignore"):
        log_p = np.log(np.maximum(-np.diff(survival), 0.0))
    terms = np.where(lost > 0, lost * log_p, 0.0)
    return float(terms.sum() + (n[-1] * np.log(survival[-1]) if n[-1] > 0 else 0.0))


def fit_sbg(survivors: Sequence[float]) -> RetentionFit:
    """The sBG fitted to a cohort's survivor counts (the first is the cohort's size)."""
    n = _check(survivors)
    t = np.arange(len(n), dtype=np.float64)

    def ll(theta: FloatArray) -> float:
        return _cohort_ll(ShiftedBetaGeometric(float(theta[0]), float(theta[1])).survival(t), n)

    optimum = maximise(ll, start=(1.0, 1.0), scale=float(n[0]))
    a, b = (float(v) for v in optimum.params)
    return RetentionFit(
        model=ShiftedBetaGeometric(alpha=a, beta=b),
        log_likelihood=optimum.log_likelihood,
        periods=len(n) - 1,
        converged=optimum.converged,
    )


def fit_bdw(survivors: Sequence[float]) -> RetentionFit:
    """The BdW fitted to a cohort's survivor counts (the first is the cohort's size)."""
    n = _check(survivors)
    t = np.arange(len(n), dtype=np.float64)

    def ll(theta: FloatArray) -> float:
        model = BetaDiscreteWeibull(float(theta[0]), float(theta[1]), float(theta[2]))
        return _cohort_ll(model.survival(t), n)

    optimum = maximise(ll, start=(1.0, 1.0, 1.0), scale=float(n[0]))
    a, b, c = (float(v) for v in optimum.params)
    return RetentionFit(
        model=BetaDiscreteWeibull(alpha=a, beta=b, c=c),
        log_likelihood=optimum.log_likelihood,
        periods=len(n) - 1,
        converged=optimum.converged,
    )
