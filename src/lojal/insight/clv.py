"""Lifetime value per member: the predictive CLV and the simple formula beside it (pure).

Predictive CLV
--------------
A purchase model (BG/NBD or Pareto/NBD) gives each member's expected purchases in every
coming month; the Gamma-Gamma model gives the expected value of each of them. The CLV over
``months`` months is the usual discounted cash flow, month by month::

    CLV = Σ_{m=1..months} spend · (E[purchases by month m] − E[purchases by month m−1])
                          / (1 + monthly_discount)^m

(value, not profit: multiply by the margin for a profit figure). A month is 30.4375 days
(365.25 / 12), in the summary's time unit.

Simple CLV
----------
The formula the club's articles give: average sale value × number of repeat purchases ×
average retention time. Per member: the member's average transaction value × their repeat
purchases per year so far (``x / T``) × the club's average retention time in years. It looks
only backwards and says nothing of who has already left; it is there to be compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from lojal.insight.arrays import FloatArray, IntArray, as_float, factorize
from lojal.insight.gammagamma import GammaGamma
from lojal.insight.summary import Summary

DAYS_PER_MONTH = 365.25 / 12
DAYS_PER_YEAR = 365.25


class PurchaseModel(Protocol):
    """BG/NBD and Pareto/NBD: expected purchases are the probability that the member is
    still a customer times what a customer with ``x`` repeat purchases in ``T`` buys."""

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray: ...

    def purchases_if_alive(self, t: float, x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray: ...

    def expected_purchases(
        self, t: float, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray: ...


def discounted_purchases(
    model: PurchaseModel,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    *,
    months: int = 12,
    monthly_discount: float = 0.01,
    units_per_month: float = DAYS_PER_MONTH / 7,
) -> FloatArray:
    """Each member's expected purchases in the next ``months`` months, each month's
    discounted by ``(1 + monthly_discount)^m`` — the CLV of a member whose purchases are
    worth 1 each. The month-by-month part depends on ``(x, T)`` only and is computed once per
    distinct pair; the probability alive scales it per member."""
    if months < 1:
        raise ValueError("months must be ≥ 1")
    xs, ts, Ts = as_float(x), as_float(t_x), as_float(T)
    (ux, uT), inverse = factorize(xs, Ts)
    total = np.zeros(len(ux))
    previous = np.zeros(len(ux))
    for m in range(1, months + 1):
        cumulative = model.purchases_if_alive(m * units_per_month, ux, uT)
        total += (cumulative - previous) / (1 + monthly_discount) ** m
        previous = cumulative
    return np.asarray(total[inverse] * model.p_alive(xs, ts, Ts), dtype=np.float64)


def simple_clv(
    total: npt.ArrayLike,
    transactions: npt.ArrayLike,
    x: npt.ArrayLike,
    T: npt.ArrayLike,
    *,
    retention_years: float,
    unit_days: float = 7.0,
) -> FloatArray:
    """average sale × repeat purchases a year × retention years, per member."""
    tot, n, xs, Ts = as_float(total), as_float(transactions), as_float(x), as_float(T)
    average_sale = np.where(n > 0, tot / np.maximum(n, 1), 0.0)
    years = Ts * unit_days / DAYS_PER_YEAR
    per_year = np.where(years > 0, xs / np.where(years > 0, years, 1.0), 0.0)
    return np.asarray(average_sale * per_year * retention_years, dtype=np.float64)


def observed_retention_years(summary: Summary) -> float:
    """The average time between the first and the last transaction of the members who came
    back (``t_x`` of ``x > 0``), in years: a floor for the retention time (those members
    have not necessarily left), used when the club gives none."""
    repeat = summary.x > 0
    if not np.any(repeat):
        return 0.0
    return float(summary.t_x[repeat].mean() * summary.unit_days / DAYS_PER_YEAR)


@dataclass(frozen=True)
class MemberValues:
    """Per member, in the summary's order."""

    member_id: IntArray
    p_alive: FloatArray
    expected_purchases: FloatArray  # in the horizon, undiscounted
    expected_spend: FloatArray  # per future transaction
    clv: FloatArray  # discounted, over the horizon
    simple_clv: FloatArray
    months: int
    monthly_discount: float
    retention_years: float


def member_values(
    summary: Summary,
    purchases: PurchaseModel,
    spend: GammaGamma,
    *,
    months: int = 12,
    monthly_discount: float = 0.01,
    retention_years: float | None = None,
) -> MemberValues:
    """Probability alive, expected purchases and spend, and both CLVs for every member of
    ``summary`` (the models fitted on the same time unit)."""
    per_month = DAYS_PER_MONTH / summary.unit_days
    x, t_x, T = summary.x, summary.t_x, summary.T
    expected_spend = spend.expected_spend(x, summary.monetary)
    factor = discounted_purchases(
        purchases,
        x,
        t_x,
        T,
        months=months,
        monthly_discount=monthly_discount,
        units_per_month=per_month,
    )
    retention = observed_retention_years(summary) if retention_years is None else retention_years
    return MemberValues(
        member_id=summary.member_id,
        p_alive=purchases.p_alive(x, t_x, T),
        expected_purchases=purchases.expected_purchases(months * per_month, x, t_x, T),
        expected_spend=expected_spend,
        clv=factor * expected_spend,
        simple_clv=simple_clv(
            summary.total,
            summary.transactions,
            x,
            T,
            retention_years=retention,
            unit_days=summary.unit_days,
        ),
        months=months,
        monthly_discount=monthly_discount,
        retention_years=retention,
    )
