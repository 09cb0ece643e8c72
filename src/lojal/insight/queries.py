"""Reading the stored figures: the last fit, a member's figures, pages of them, the RFM grid,
CLV and churn overviews, and the top customers. Nothing here fits a model: everything is read
from ``member_scores`` as the last refit left it (and, for members against non-members, the
purchases up to the fit's day)."""

from __future__ import annotations

import math
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from lojal.activities.models import Purchase
from lojal.calendar import local_midnight
from lojal.i18n import minor_units
from lojal.insight.errors import MemberNotScored, NotFitted
from lojal.insight.models import InsightFit, MemberScore
from lojal.insight.rfm import GROUPS, tabulate, top_customers
from lojal.insight.schemas import (
    ChurnBand,
    ChurnRead,
    ClvGroup,
    ClvRead,
    FitRead,
    MemberInsight,
    MemberInsightPage,
    RfmCell,
    RfmGroupTotal,
    RfmRead,
    TopRead,
    TopShare,
)
from lojal.insight.service import latest_fit
from lojal.program import service as program

CHURN_BANDS = (0.0, 0.25, 0.5, 0.75, 1.0)


def major(minor: float, currency: str) -> float:
    """An amount of minor units in major units, to the currency's decimals."""
    decimals = minor_units(currency)
    return float(round(float(minor) / 10**decimals, decimals))


def current_fit(session: Session) -> InsightFit:
    fit = latest_fit(session)
    if fit is None:
        raise NotFitted(
            "no figures are stored yet: run `lojal insight refit` or POST /insight/refit"
        )
    return fit


def fit_read(fit: InsightFit) -> FitRead:
    return FitRead(
        id=fit.id,
        fitted_at=fit.fitted_at,
        as_of=fit.as_of,
        model=fit.model,
        months=fit.months,
        monthly_discount=fit.monthly_discount,
        retention_years=fit.retention_years,
        unit_days=fit.unit_days,
        currency=fit.currency,
        members=fit.members,
        fitted_members=fit.fitted_members,
        repeat_members=fit.repeat_members,
        params=fit.params,
        log_likelihood=fit.log_likelihood,
        converged=fit.converged,
        spend_fallbacks=fit.spend_fallbacks,
    )


def member_read(row: MemberScore, fit: InsightFit) -> MemberInsight:
    c = fit.currency
    return MemberInsight(
        member_id=row.member_id,
        fitted_at=row.fitted_at,
        as_of=fit.as_of,
        currency=c,
        r=row.rfm_r,
        f=row.rfm_f,
        m=row.rfm_m,
        fm=row.rfm_fm,
        group=row.rfm_group,
        transactions=row.transactions,
        revenue=major(row.revenue_minor, c),
        first_purchase_on=row.first_purchase_on,
        last_purchase_on=row.last_purchase_on,
        p_alive=row.p_alive,
        churn_risk=row.churn_risk,
        expected_purchases=row.expected_purchases,
        expected_spend=major(row.expected_spend_minor, c),
        clv=major(row.clv_minor, c),
        simple_clv=major(row.simple_clv_minor, c),
    )


def member_insight(session: Session, member_id: int) -> MemberInsight:
    fit = current_fit(session)
    row = session.get(MemberScore, member_id)
    if row is None:
        raise MemberNotScored(
            f"member {member_id} has no figures: no purchase up to {fit.as_of}, or no member "
            "with that id"
        )
    return member_read(row, fit)


def members_page(
    session: Session, *, after: int = 0, limit: int = 100, group: str | None = None
) -> MemberInsightPage:
    """Every scored member's figures, by member id, after ``after`` (keyset paging)."""
    fit = current_fit(session)
    query = select(MemberScore).where(MemberScore.member_id > after)
    if group is not None:
        query = query.where(MemberScore.rfm_group == group)
    rows = list(session.scalars(query.order_by(MemberScore.member_id).limit(limit)))
    items = [member_read(r, fit) for r in rows]
    return MemberInsightPage(
        currency=fit.currency,
        fit=fit_read(fit),
        items=items,
        next_after=items[-1].member_id if len(items) == limit else None,
    )


def rfm(session: Session) -> RfmRead:
    """The grid and the groups from the stored scores."""
    fit = current_fit(session)
    cells = {
        (int(r), int(fm)): (int(n), float(revenue or 0))
        for r, fm, n, revenue in session.execute(
            select(
                MemberScore.rfm_r,
                MemberScore.rfm_fm,
                func.count(),
                func.sum(MemberScore.revenue_minor),
            ).group_by(MemberScore.rfm_r, MemberScore.rfm_fm)
        )
    }
    grid, groups = tabulate(cells)
    c = fit.currency
    return RfmRead(
        currency=c,
        fit=fit_read(fit),
        members=sum(cell.members for cell in grid),
        revenue=major(sum(cell.revenue for cell in grid), c),
        grid=[
            RfmCell(
                r=cell.r,
                fm=cell.fm,
                group=cell.group,
                members=cell.members,
                revenue=major(cell.revenue, c),
            )
            for cell in grid
        ],
        groups=[
            RfmGroupTotal(
                group=g.group,
                members=g.members,
                revenue=major(g.revenue, c),
                share_of_members=g.share_of_members,
                share_of_revenue=g.share_of_revenue,
            )
            for g in groups
        ],
    )


def clv(session: Session, *, highest: int = 10) -> ClvRead:
    """The CLV in total, by RFM group, and the members with the highest."""
    fit = current_fit(session)
    c = fit.currency
    s = MemberScore
    aggregates = (
        func.count(),
        func.coalesce(func.sum(s.clv_minor), 0),
        func.coalesce(func.sum(s.simple_clv_minor), 0),
        func.coalesce(func.sum(s.expected_purchases), 0.0),
        func.coalesce(func.avg(s.p_alive), 0.0),
    )
    n, total, simple, expected, alive = session.execute(select(*aggregates)).one()
    by_group = {
        group: rest
        for group, *rest in session.execute(select(s.rfm_group, *aggregates).group_by(s.rfm_group))
    }
    groups = []
    for group in GROUPS:
        gn, gclv, gsimple, gexpected, galive = by_group.get(group, (0, 0, 0, 0.0, 0.0))
        groups.append(
            ClvGroup(
                group=group,
                members=int(gn),
                clv=major(gclv, c),
                mean_clv=major(gclv / gn, c) if gn else 0.0,
                simple_clv=major(gsimple, c),
                mean_p_alive=float(galive),
                expected_purchases=float(gexpected),
            )
        )
    top = list(session.scalars(select(s).order_by(s.clv_minor.desc(), s.member_id).limit(highest)))
    return ClvRead(
        currency=c,
        fit=fit_read(fit),
        members=int(n),
        clv=major(total, c),
        mean_clv=major(total / n, c) if n else 0.0,
        simple_clv=major(simple, c),
        mean_simple_clv=major(simple / n, c) if n else 0.0,
        expected_purchases=float(expected),
        mean_p_alive=float(alive),
        groups=groups,
        highest=[member_read(r, fit) for r in top],
    )


def churn(session: Session, *, threshold: float = 0.5, limit: int = 10) -> ChurnRead:
    """Members by churn risk in quarters, and the at-risk members who spent the most."""
    fit = current_fit(session)
    c = fit.currency
    s = MemberScore
    edges = CHURN_BANDS
    band = case(
        *((s.churn_risk < high, i) for i, high in enumerate(edges[1:-1])),
        else_=len(edges) - 2,
    )
    found = {
        int(b): (int(n), float(revenue or 0), float(value or 0))
        for b, n, revenue, value in session.execute(
            select(band, func.count(), func.sum(s.revenue_minor), func.sum(s.clv_minor)).group_by(
                band
            )
        )
    }
    bands = []
    for i in range(len(edges) - 1):
        n, revenue, value = found.get(i, (0, 0.0, 0.0))
        bands.append(
            ChurnBand(
                low=edges[i],
                high=edges[i + 1],
                members=n,
                revenue=major(revenue, c),
                clv=major(value, c),
            )
        )
    risky = s.churn_risk >= threshold
    at_risk, at_risk_revenue = session.execute(
        select(func.count(), func.coalesce(func.sum(s.revenue_minor), 0)).where(risky)
    ).one()
    most = list(
        session.scalars(
            select(s).where(risky).order_by(s.revenue_minor.desc(), s.member_id).limit(limit)
        )
    )
    return ChurnRead(
        currency=c,
        fit=fit_read(fit),
        threshold=threshold,
        members=sum(b.members for b in bands),
        at_risk=int(at_risk),
        at_risk_revenue=major(at_risk_revenue, c),
        bands=bands,
        most_valuable_at_risk=[member_read(r, fit) for r in most],
    )


def top(session: Session, *, share: float = 0.1) -> TopRead:
    """The top ``share`` of the scored members by revenue (ties at the cut: the lower member
    id first), and the members' sales against the sales with no member, up to the fit's day."""
    fit = current_fit(session)
    c = fit.currency
    ids, revenue = [], []
    for member_id, value in session.execute(
        select(MemberScore.member_id, MemberScore.revenue_minor).order_by(MemberScore.member_id)
    ):
        ids.append(member_id)
        revenue.append(value)
    found = top_customers(np.asarray(revenue, dtype=np.float64), share=share)
    zone = ZoneInfo(program.current(session).timezone)
    until = local_midnight(fit.as_of + timedelta(days=1), zone)
    sales = {
        is_member: (int(n), float(total or 0))
        for is_member, n, total in session.execute(
            select(
                Purchase.member_id.is_not(None).label("is_member"),
                func.count(),
                func.sum(Purchase.total_minor),
            )
            .where(Purchase.occurred_at < until)
            .group_by(Purchase.member_id.is_not(None))
        )
    }
    member_n, member_total = sales.get(True, (0, 0.0))
    other_n, other_total = sales.get(False, (0, 0.0))
    everything = member_total + other_total
    return TopRead(
        currency=c,
        fit=fit_read(fit),
        share=share,
        members=found.members,
        of_members=len(ids),
        revenue_share=found.revenue_share,
        top_mean=major(found.top_mean, c),
        rest_mean=major(found.rest_mean, c),
        times_rest=None if np.isinf(found.times_rest) else found.times_rest,
        top_member_ids=[ids[i] for i in found.member_index.tolist()],
        member_revenue=major(member_total, c),
        member_purchases=member_n,
        non_member_revenue=major(other_total, c),
        non_member_purchases=other_n,
        member_share_of_sales=member_total / everything if everything else None,
        member_mean_purchase=major(member_total / member_n, c) if member_n else None,
        non_member_mean_purchase=major(other_total / other_n, c) if other_n else None,
    )


def top_share(session: Session, *, share: float = 0.1) -> TopShare:
    """The share of the scored members' revenue that the top ``share`` of them bring, in
    SQL (no member's row leaves the database): the same cut as ``top`` — ``ceil(share · n)``
    members by revenue, ties at the cut settled by the lower member id."""
    fit = current_fit(session)
    if not 0 < share < 1:
        raise ValueError("share must be between 0 and 1")
    n, total = session.execute(
        select(func.count(), func.coalesce(func.sum(MemberScore.revenue_minor), 0))
    ).one()
    k = math.ceil(share * int(n) - 1e-9)
    best = (
        select(MemberScore.revenue_minor)
        .order_by(MemberScore.revenue_minor.desc(), MemberScore.member_id)
        .limit(k)
        .subquery()
    )
    top_total = int(session.scalar(select(func.coalesce(func.sum(best.c.revenue_minor), 0))) or 0)
    return TopShare(
        currency=fit.currency,
        share=share,
        members=k,
        of_members=int(n),
        revenue=major(top_total, fit.currency),
        revenue_share=top_total / int(total) if int(total) else 0.0,
    )


def cohort_counts(session: Session) -> list[tuple[int, int, int]]:
    """Scored members by the month of their first and of their last purchase (month numbers:
    ``year × 12 + month − 1``), for ``insight.cohorts.retention``."""
    s = MemberScore
    first = func.extract("year", s.first_purchase_on) * 12 + func.extract(
        "month", s.first_purchase_on
    )
    last = func.extract("year", s.last_purchase_on) * 12 + func.extract("month", s.last_purchase_on)
    current_fit(session)
    return [
        (int(f) - 1, int(lst) - 1, int(n))
        for f, lst, n in session.execute(select(first, last, func.count()).group_by(first, last))
    ]
