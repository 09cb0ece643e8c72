"""The holdout backtest: how well the purchase model would have predicted the last period
(pure).

Each member's history is cut at the calibration end. The model is fitted on what came
before, predicts every member's purchases in the holdout period after it, and the prediction
is set against what the members really did — in total and by the number of repeat purchases
the members had made in the calibration period (0, 1, …, 7+), the way the model's authors
check it. The errors are the mean absolute error per member and the total's percentage error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np

from lojal.insight.arrays import FloatArray
from lojal.insight.bgnbd import fit_bgnbd
from lojal.insight.paretonbd import fit_paretonbd
from lojal.insight.summary import Holdout, Summary

Model = Literal["bgnbd", "paretonbd"]


@dataclass(frozen=True)
class BacktestGroup:
    label: str  # calibration repeat purchases: "0" … "6", "7+"
    members: int
    actual: float  # holdout transactions of these members
    predicted: float
    mean_actual: float  # per member
    mean_predicted: float
    mae: float  # mean absolute error per member


@dataclass(frozen=True)
class Backtest:
    model: Model
    params: dict[str, float]
    log_likelihood: float
    calibration_end: date
    holdout_end: date
    holdout_length: float  # in the summary's time unit
    unit_days: float
    members: int
    actual: float
    predicted: float
    error_pct: float  # (predicted − actual) / actual · 100
    mae: float
    groups: list[BacktestGroup]
    predicted_per_member: FloatArray
    actual_per_member: FloatArray


def backtest(
    summary: Summary, holdout: Holdout, *, model: Model = "bgnbd", top_group: int = 7
) -> Backtest:
    """Fit ``model`` on ``summary`` (the calibration period) and compare its prediction of
    each member's holdout purchases with ``holdout``."""
    x, t_x, T = summary.x, summary.t_x, summary.T
    if model == "bgnbd":
        bg = fit_bgnbd(x, t_x, T)
        predicted = bg.model.expected_purchases(holdout.length, x, t_x, T)
        params = {"r": bg.model.r, "alpha": bg.model.alpha, "a": bg.model.a, "b": bg.model.b}
        ll = bg.log_likelihood
    else:
        pn = fit_paretonbd(x, t_x, T)
        predicted = pn.model.expected_purchases(holdout.length, x, t_x, T)
        params = {"r": pn.model.r, "alpha": pn.model.alpha, "s": pn.model.s, "beta": pn.model.beta}
        ll = pn.log_likelihood
    actual = holdout.purchases
    groups = []
    for k in range(top_group + 1):
        inside = x >= k if k == top_group else x == k
        n = int(inside.sum())
        a, p = float(actual[inside].sum()), float(predicted[inside].sum())
        groups.append(
            BacktestGroup(
                label=f"{k}+" if k == top_group else str(k),
                members=n,
                actual=a,
                predicted=p,
                mean_actual=a / n if n else 0.0,
                mean_predicted=p / n if n else 0.0,
                mae=float(np.abs(predicted[inside] - actual[inside]).mean()) if n else 0.0,
            )
        )
    total_actual, total_predicted = float(actual.sum()), float(predicted.sum())
    return Backtest(
        model=model,
        params=params,
        log_likelihood=ll,
        calibration_end=summary.calibration_end,
        holdout_end=holdout.end,
        holdout_length=holdout.length,
        unit_days=summary.unit_days,
        members=len(summary),
        actual=total_actual,
        predicted=total_predicted,
        error_pct=(total_predicted - total_actual) / total_actual * 100
        if total_actual
        else float("nan"),
        mae=float(np.abs(predicted - actual).mean()),
        groups=groups,
        predicted_per_member=predicted,
        actual_per_member=actual,
    )
