"""The figures a refit stores for every member (pure: NumPy and SciPy).

``score`` takes the club's transactions (``summary.Transactions``: one per member and local
day) and a day, ``as_of``, and gives for every member who bought on or before it:

* **RFM** (``rfm.rfm``): the R, F and M scores over the member's whole history up to
  ``as_of``, the FM score and the named group;
* from the **purchase model** (BG/NBD or Pareto/NBD, ``model``) fitted on the members with at
  least one day of history (``T > 0``): the probability that the member is still a customer
  (``p_alive``), ``churn_risk = 1 − p_alive``, and the expected purchases in the next
  ``months`` months;
* from the **Gamma-Gamma** model fitted on the members with a repeat purchase: the expected
  value of each future purchase, and the **CLV** (discounted by ``monthly_discount`` a month
  over ``months``, ``clv.member_values``) with the **simple CLV** beside it.

A member whose first purchase is on ``as_of`` itself is scored (``T = 0``: alive, expected to
buy like a new member) but not fitted on. When the spend model finds no finite average (its
``q ≤ 1``, which happens with very few repeat buyers), a member's expected spend is their own
average purchase; ``spend_fallbacks`` counts them.

Values are in the currency's minor units, as the purchases are stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np

from lojal.insight.arrays import FloatArray, IntArray
from lojal.insight.bgnbd import fit_bgnbd
from lojal.insight.clv import DAYS_PER_MONTH, PurchaseModel, discounted_purchases, member_values
from lojal.insight.errors import NotEnoughHistory
from lojal.insight.gammagamma import fit_gammagamma
from lojal.insight.paretonbd import fit_paretonbd
from lojal.insight.rfm import rfm
from lojal.insight.summary import WEEK, Summary, Transactions, summarise

Model = Literal["bgnbd", "paretonbd"]
MODELS: tuple[Model, ...] = ("bgnbd", "paretonbd")


@dataclass(frozen=True)
class Options:
    """How a refit is made (stored with its figures)."""

    as_of: date
    model: Model = "bgnbd"
    months: int = 12
    monthly_discount: float = 0.01
    retention_years: float | None = None  # None: the observed floor (clv.observed_retention_years)
    unit_days: float = WEEK


@dataclass(frozen=True)
class Scores:
    """Per member (sorted by member id) and the fit they come from."""

    options: Options
    member_id: IntArray
    r: IntArray
    f: IntArray
    m: IntArray
    fm: IntArray
    group: list[str]
    transactions: FloatArray
    revenue: FloatArray
    first_day: IntArray  # date ordinals
    last_day: IntArray
    p_alive: FloatArray
    expected_purchases: FloatArray  # in the horizon
    expected_spend: FloatArray  # per future purchase
    clv: FloatArray
    simple_clv: FloatArray
    retention_years: float
    params: dict[str, dict[str, float]] = field(default_factory=dict)
    log_likelihood: dict[str, float] = field(default_factory=dict)
    converged: bool = True
    fitted_members: int = 0  # the purchase model's
    repeat_members: int = 0  # the spend model's
    spend_fallbacks: int = 0

    @property
    def churn_risk(self) -> FloatArray:
        return np.asarray(1.0 - self.p_alive, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.member_id)


def _purchase_model(
    model: Model, summary: Summary
) -> tuple[PurchaseModel, dict[str, float], float, bool]:
    fitted = summary.T > 0
    x, t_x, T = summary.x[fitted], summary.t_x[fitted], summary.T[fitted]
    if model == "bgnbd":
        bg = fit_bgnbd(x, t_x, T)
        m = bg.model
        return m, {"r": m.r, "alpha": m.alpha, "a": m.a, "b": m.b}, bg.log_likelihood, bg.converged
    pn = fit_paretonbd(x, t_x, T)
    p = pn.model
    params = {"r": p.r, "alpha": p.alpha, "s": p.s, "beta": p.beta}
    return p, params, pn.log_likelihood, pn.converged


def score(transactions: Transactions, options: Options) -> Scores:
    """Every member's figures as of the end of the day ``options.as_of``."""
    if options.model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}")
    if options.months < 1:
        raise ValueError("months must be ≥ 1")
    summary = summarise(
        transactions,
        calibration_end=options.as_of,
        unit_days=options.unit_days,
        include_new=True,
    )
    day = options.as_of.isoformat()
    if len(summary) == 0:
        raise NotEnoughHistory(f"no member bought anything up to {day}")
    fitted = int((summary.T > 0).sum())
    repeat = int((summary.x > 0).sum())
    if fitted == 0 or repeat == 0:
        raise NotEnoughHistory(
            f"up to {day}, {repeat} members bought more than once: the models need members "
            "who came back"
        )
    try:
        with np.errstate(all="ignore"):
            purchases, params, ll, converged = _purchase_model(options.model, summary)
            spend = fit_gammagamma(summary.x, summary.monetary)
            values = member_values(
                summary,
                purchases,
                spend.model,
                months=options.months,
                monthly_discount=options.monthly_discount,
                retention_years=options.retention_years,
            )
    except (ArithmeticError, ValueError) as exc:
        raise NotEnoughHistory(
            f"the models cannot be fitted on the purchases up to {day}: {exc}"
        ) from exc
    if not (np.all(np.isfinite(values.p_alive)) and np.all(np.isfinite(values.expected_purchases))):
        raise NotEnoughHistory(f"the purchase model fitted up to {day} gives no finite figures")
    expected_spend, clv = values.expected_spend, values.clv
    bad = ~np.isfinite(expected_spend) | (expected_spend < 0)
    if np.any(bad):
        # the spend model's population mean is not finite: the member's own average instead
        with np.errstate(all="ignore"):
            factor = discounted_purchases(
                purchases,
                summary.x,
                summary.t_x,
                summary.T,
                months=options.months,
                monthly_discount=options.monthly_discount,
                units_per_month=DAYS_PER_MONTH / options.unit_days,
            )
        average = summary.total / np.maximum(summary.transactions, 1)
        expected_spend = np.where(bad, average, expected_spend)
        clv = np.where(bad, factor * average, clv)
    if not np.all(np.isfinite(clv)):
        raise NotEnoughHistory(f"the models fitted up to {day} give no finite CLV")
    scored = rfm(summary.last_day, summary.transactions, summary.total)
    return Scores(
        options=options,
        member_id=summary.member_id,
        r=scored.r,
        f=scored.f,
        m=scored.m,
        fm=scored.fm,
        group=scored.group,
        transactions=summary.transactions,
        revenue=summary.total,
        first_day=summary.first_day,
        last_day=summary.last_day,
        p_alive=values.p_alive,
        expected_purchases=values.expected_purchases,
        expected_spend=np.asarray(expected_spend, dtype=np.float64),
        clv=np.asarray(clv, dtype=np.float64),
        simple_clv=values.simple_clv,
        retention_years=values.retention_years,
        params={
            "purchases": params,
            "spend": {"p": spend.model.p, "q": spend.model.q, "gamma": spend.model.gamma},
        },
        log_likelihood={"purchases": ll, "spend": spend.log_likelihood},
        converged=converged and spend.converged,
        fitted_members=fitted,
        repeat_members=repeat,
        spend_fallbacks=int(bad.sum()),
    )
