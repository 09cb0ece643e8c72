"""The dashboard's insight: the RFM grid, CLV by RFM group, the top 10 %'s share of revenue,
churn, and cohort retention — all read from the figures the last refit stored
(``lojal.insight.queries`` over ``member_scores``: grouped queries, no member's purchases), so
they cost the same on a club of any size. Before the first refit there is nothing to show.

* **RFM grid**: members and their revenue up to the fit's day per cell of recency (R, rows
  5 → 1) against the mean of frequency and monetary (FM, columns 1 → 5);
* **CLV by segment**: the expected value of each RFM group's members (``insight.clv``);
* **churn**: members by churn risk (1 − probability alive) in quarters; *at risk* is a risk of
  at least 50 %;
* **cohort retention**: ``insight.cohorts``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from lojal.i18n import format_money, minor_units
from lojal.insight import queries
from lojal.insight.cohorts import retention
from lojal.insight.models import InsightFit
from lojal.insight.rfm import GROUPS
from lojal.insight.service import latest_fit
from lojal.pages.charts import Chart, Heatmap, Series

AT_RISK = 0.5
TOP = 0.1
COHORT_MONTHS = 12


@dataclass(frozen=True, slots=True)
class Figure:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class InsightBoard:
    fit: InsightFit
    figures: list[Figure]
    charts: list[Chart | Heatmap]


def _name(group: str) -> str:
    return group.replace("_", " ").replace("cant", "can't").capitalize()


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def build(session: Session) -> InsightBoard | None:
    fit = latest_fit(session)
    if fit is None:
        return None
    currency = fit.currency
    unit = 10 ** minor_units(currency)

    def money(major: float) -> str:
        return format_money(round(major * unit), currency)

    grid = queries.rfm(session)
    cells = {(c.r, c.fm): c for c in grid.grid}
    largest = max((c.members for c in grid.grid), default=0)
    r_values = (5, 4, 3, 2, 1)
    rfm = Heatmap(
        "rfm",
        "RFM grid: members (and their revenue) by recency and frequency-monetary",
        "R \\ FM",
        [f"R {r}" for r in r_values],
        [f"FM {fm}" for fm in range(1, 6)],
        [
            [cells[r, fm].members / largest if largest else 0.0 for fm in range(1, 6)]
            for r in r_values
        ],
        [
            [f"{cells[r, fm].members:,} · {money(cells[r, fm].revenue)}" for fm in range(1, 6)]
            for r in r_values
        ],
    )
    clv = queries.clv(session, highest=0)
    groups = [g for g in clv.groups if g.members]
    by_group = Chart(
        "clv",
        f"Mean CLV per member by RFM group ({clv.fit.months} months, {currency})",
        [f"{_name(g.group)} ({g.members:,})" for g in groups] or [_name(GROUPS[0])],
        [Series("Mean CLV", [g.mean_clv for g in groups] or [0])],
        shown=[[money(g.mean_clv) for g in groups] or ["–"]],
    )
    churn = queries.churn(session, threshold=AT_RISK, limit=0)
    bands = Chart(
        "churn",
        "Members by churn risk",
        [f"{100 * b.low:.0f}–{100 * b.high:.0f} %" for b in churn.bands],
        [Series("Members", [b.members for b in churn.bands])],
    )
    top = queries.top_share(session, share=TOP)
    rows = retention(queries.cohort_counts(session), as_of=fit.as_of, months=COHORT_MONTHS)
    longest = max((len(r.still_buying) for r in rows), default=1)
    cohorts = Heatmap(
        "cohorts",
        "Cohort retention: share still buying, by month of first purchase and months since",
        "First purchase",
        [f"{r.month:%Y-%m} ({r.members:,})" for r in rows],
        [str(k) for k in range(longest)],
        [
            [
                *(r.shares if r.members else [0.0] * len(r.still_buying)),
                *([None] * (longest - len(r.still_buying))),
            ]
            for r in rows
        ],
        [
            [
                *(_percent(s) if r.members else "–" for s in r.shares),
                *([""] * (longest - len(r.still_buying))),
            ]
            for r in rows
        ],
        note=(
            "Still buying at month k: the last purchase (up to the fit's day) is k or more "
            "months after the first month."
        ),
    )
    figures = [
        Figure(
            "Top 10 % of members",
            _percent(top.revenue_share),
            f"of member revenue ({top.members:,} of {top.of_members:,} members)",
        ),
        Figure(
            "At risk of churn",
            _percent(churn.at_risk / churn.members) if churn.members else "–",
            f"{churn.at_risk:,} members with a churn risk of {100 * AT_RISK:.0f} % or more",
        ),
        Figure("Mean CLV", money(clv.mean_clv), f"next {clv.fit.months} months, per member"),
    ]
    return InsightBoard(fit, figures, [rfm, by_group, bands, cohorts])
