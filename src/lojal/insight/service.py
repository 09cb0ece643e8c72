"""Insight's use cases: refit the stored figures, and backtest the purchase model.

``refit`` reads the club's purchases up to a local day (``history``), computes every
member's figures (``scores.score``, pure) and replaces the stored ones (``member_scores``)
with them in the caller's transaction, and the recommendations' item figures
(``recommendations.store``) with those of the same baskets, with one ``insight_fits`` row
that says how they were made. The options left out are the last fit's (model, horizon,
discount), else the defaults; the day is yesterday in the club's time zone (a complete
day). ``insight.tasks`` runs it for the worker and brings the segments that read the figures
up to date in the same transaction.

``backtest`` fits on the purchases up to a calibration day and sets the prediction of the
following period against what the members did (``backtest.backtest``); it is computed on
request, since its cut is the caller's choice.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from lojal.calendar import local_day
from lojal.insight import backtest as backtesting
from lojal.insight import recommendations
from lojal.insight.arrays import FloatArray
from lojal.insight.errors import InvalidPeriod, NotEnoughHistory
from lojal.insight.history import calibration_and_holdout, purchase_history
from lojal.insight.models import InsightFit, MemberScore
from lojal.insight.schemas import BacktestGroupRead, BacktestRead, Model, RefitRequest
from lojal.insight.scores import Options, score
from lojal.program import service as program

DEFAULT_MODEL: Model = "bgnbd"
DEFAULT_MONTHS = 12
DEFAULT_MONTHLY_DISCOUNT = 0.01
INSERT_BATCH = 5000
# Two refits at once (the day's job and a command) take turns on PostgreSQL: the second's
# DELETE would not see the rows the first inserts, and its INSERT would then collide with
# them. SQLite has one writer already.
_REFIT_LOCK = 0x6C6F_6A61_6C31  # "lojal1"


def latest_fit(session: Session) -> InsightFit | None:
    return session.scalar(select(InsightFit).order_by(InsightFit.id.desc()).limit(1))


def _today(session: Session, now: datetime) -> tuple[date, ZoneInfo, str]:
    config = program.current(session)
    zone = ZoneInfo(config.timezone)
    return local_day(now, zone), zone, config.currency


def refit(session: Session, *, now: datetime, request: RefitRequest | None = None) -> InsightFit:
    """Compute and store every member's figures; the fit's row."""
    asked = request or RefitRequest()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REFIT_LOCK})
    today, zone, currency = _today(session, now)
    as_of = asked.as_of or today - timedelta(days=1)
    if as_of > today:
        raise InvalidPeriod(f"as_of {as_of} is after today ({today})", field="as_of")
    last = latest_fit(session)
    model: Model = asked.model or (last.model if last else DEFAULT_MODEL)  # type: ignore[assignment]
    months = asked.months or (last.months if last else DEFAULT_MONTHS)
    discount = (
        asked.monthly_discount
        if asked.monthly_discount is not None
        else (last.monthly_discount if last else DEFAULT_MONTHLY_DISCOUNT)
    )
    options = Options(
        as_of=as_of,
        model=model,
        months=months,
        monthly_discount=discount,
        retention_years=asked.retention_years,
    )
    scores = score(purchase_history(session, zone=zone, until=as_of), options)
    fit = InsightFit(
        fitted_at=now,
        as_of=as_of,
        model=model,
        months=months,
        monthly_discount=discount,
        retention_years=scores.retention_years,
        unit_days=options.unit_days,
        currency=currency,
        members=len(scores),
        fitted_members=scores.fitted_members,
        repeat_members=scores.repeat_members,
        params=scores.params,
        log_likelihood=scores.log_likelihood,
        converged=scores.converged,
        spend_fallbacks=scores.spend_fallbacks,
    )
    session.add(fit)
    session.flush()
    session.execute(delete(MemberScore))
    columns: dict[str, list[object]] = {
        "member_id": scores.member_id.tolist(),
        "rfm_r": scores.r.tolist(),
        "rfm_f": scores.f.tolist(),
        "rfm_m": scores.m.tolist(),
        "rfm_fm": scores.fm.tolist(),
        "rfm_group": list(scores.group),
        "transactions": scores.transactions.astype(np.int64).tolist(),
        "revenue_minor": _whole(scores.revenue),
        "first_purchase_on": [date.fromordinal(d) for d in scores.first_day.tolist()],
        "last_purchase_on": [date.fromordinal(d) for d in scores.last_day.tolist()],
        "p_alive": scores.p_alive.tolist(),
        "churn_risk": scores.churn_risk.tolist(),
        "expected_purchases": scores.expected_purchases.tolist(),
        "expected_spend_minor": _whole(scores.expected_spend),
        "clv_minor": _whole(scores.clv),
        "simple_clv_minor": _whole(scores.simple_clv),
    }
    rows = [
        {
            "fit_id": fit.id,
            "fitted_at": now,
            **{name: column[i] for name, column in columns.items()},
        }
        for i in range(len(scores))
    ]
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(insert(MemberScore), rows[start : start + INSERT_BATCH])
    recommendations.store(session, fit=fit, zone=zone, as_of=as_of)
    session.expire_all()
    return fit


def _whole(values: FloatArray) -> list[object]:
    """Amounts in whole minor units, as lojal stores money."""
    return list(np.rint(values).astype(np.int64).tolist())


def backtest(
    session: Session,
    *,
    now: datetime,
    calibration_end: date,
    holdout_end: date | None = None,
    model: Model = DEFAULT_MODEL,
) -> BacktestRead:
    """Fit on the purchases up to ``calibration_end`` and predict each member's purchase days
    from the day after it to ``holdout_end`` (yesterday when left out), both local days."""
    today, zone, _ = _today(session, now)
    end = holdout_end or today - timedelta(days=1)
    if end > today:
        raise InvalidPeriod(f"holdout_end {end} is after today ({today})", field="holdout_end")
    if calibration_end >= end:
        raise InvalidPeriod(
            f"calibration_end {calibration_end} must be before holdout_end {end}",
            field="calibration_end",
        )
    summary, holdout = calibration_and_holdout(
        session, calibration_end=calibration_end, holdout_end=end, zone=zone
    )
    if len(summary) == 0 or not np.any(summary.x > 0):
        raise NotEnoughHistory(
            f"up to {calibration_end}, no member bought more than once: nothing to fit on"
        )
    try:
        with np.errstate(all="ignore"):
            done = backtesting.backtest(summary, holdout, model=model)
    except (ArithmeticError, ValueError) as exc:
        raise NotEnoughHistory(
            f"the model cannot be fitted up to {calibration_end}: {exc}"
        ) from exc
    return BacktestRead(
        model=done.model,
        params=done.params,
        log_likelihood=done.log_likelihood,
        calibration_end=done.calibration_end,
        holdout_end=done.holdout_end,
        holdout_weeks=done.holdout_length * done.unit_days / 7,
        members=done.members,
        actual=done.actual,
        predicted=done.predicted,
        error_pct=None if math.isnan(done.error_pct) else done.error_pct,
        mae=done.mae,
        groups=[
            BacktestGroupRead(
                label=g.label,
                members=g.members,
                actual=g.actual,
                predicted=g.predicted,
                mean_actual=g.mean_actual,
                mean_predicted=g.mean_predicted,
                mae=g.mae,
            )
            for g in done.groups
        ],
    )
