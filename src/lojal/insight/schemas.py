"""What the insight API and commands take and give.

Money is given in the club's currency (``currency``), in **major units** (``499.5`` is SEK
499.50), rounded to the currency's decimals: expected values are not whole minor units, and a
marketer reads kronor, not öre. The stored figures (``member_scores``) keep integer minor
units, as every amount lojal stores.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from lojal.inputs import Day
from lojal.insight.rfm import GROUPS

Model = Literal["bgnbd", "paretonbd"]
RfmGroup = Literal[
    "champions",
    "loyal_customers",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose_them",
    "hibernating",
    "lost",
]
assert set(GROUPS) == set(get_args(RfmGroup))  # the names of lojal.insight.rfm


class RefitRequest(BaseModel):
    """How to refit (every field may be left out: the last fit's choice, else the default)."""

    model_config = ConfigDict(extra="forbid")

    as_of: Day | None = Field(
        default=None, description="the figures as of the end of this local day (yesterday)"
    )
    model: Model | None = Field(default=None, description="the purchase model (bgnbd)")
    months: int | None = Field(default=None, ge=1, le=120, description="the CLV's horizon (12)")
    monthly_discount: float | None = Field(
        default=None, ge=0, le=1, description="the CLV's discount rate per month (0.01)"
    )
    retention_years: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="the simple CLV's retention time (the observed one when left out)",
    )


class FitRead(BaseModel):
    """A refit: when, as of which day, with what, and the fitted model parameters."""

    id: int
    fitted_at: datetime
    as_of: date
    model: Model
    months: int
    monthly_discount: float
    retention_years: float
    unit_days: float
    currency: str
    members: int = Field(description="members scored")
    fitted_members: int = Field(description="members the purchase model was fitted on")
    repeat_members: int = Field(description="members with a repeat purchase (the spend model)")
    params: dict[str, dict[str, float]]
    log_likelihood: dict[str, float]
    converged: bool
    spend_fallbacks: int = Field(
        description="members valued at their own average purchase (the spend model had no "
        "finite mean)"
    )


class RefitQueued(BaseModel):
    job_id: int | None = Field(description="the job; null when one was already queued")
    kind: str
    queued: bool


class MemberInsight(BaseModel):
    """One member's stored figures (money in major units of ``currency``)."""

    member_id: int
    fitted_at: datetime
    as_of: date
    currency: str
    r: int = Field(description="recency score 1-5 (5: most recent)")
    f: int = Field(description="frequency score 1-5")
    m: int = Field(description="monetary score 1-5")
    fm: int
    group: RfmGroup
    transactions: int = Field(description="purchase days up to as_of")
    revenue: float
    first_purchase_on: date
    last_purchase_on: date
    p_alive: float = Field(description="the probability the member is still a customer")
    churn_risk: float = Field(description="1 - p_alive")
    expected_purchases: float = Field(description="purchase days expected in the horizon")
    expected_spend: float = Field(description="the expected value of one future purchase")
    clv: float = Field(description="the discounted value of the purchases in the horizon")
    simple_clv: float = Field(description="average sale × repeat purchases/year × retention")


class MemberInsightPage(BaseModel):
    currency: str
    fit: FitRead
    items: list[MemberInsight]
    next_after: int | None = Field(description="pass as `after` for the next page")


class RfmCell(BaseModel):
    r: int
    fm: int
    group: RfmGroup
    members: int
    revenue: float


class RfmGroupTotal(BaseModel):
    group: RfmGroup
    members: int
    revenue: float
    share_of_members: float
    share_of_revenue: float


class RfmRead(BaseModel):
    """The RFM grid (R = 5..1 by FM = 1..5, all 25 cells) and the named groups."""

    currency: str
    fit: FitRead
    members: int
    revenue: float
    grid: list[RfmCell]
    groups: list[RfmGroupTotal]


class ClvGroup(BaseModel):
    group: RfmGroup
    members: int
    clv: float
    mean_clv: float
    simple_clv: float
    mean_p_alive: float
    expected_purchases: float


class ClvRead(BaseModel):
    """Lifetime value over the fit's horizon, in total, by RFM group and the highest."""

    currency: str
    fit: FitRead
    members: int
    clv: float
    mean_clv: float
    simple_clv: float
    mean_simple_clv: float
    expected_purchases: float
    mean_p_alive: float
    groups: list[ClvGroup]
    highest: list[MemberInsight]


class ChurnBand(BaseModel):
    low: float
    high: float
    members: int
    revenue: float = Field(description="what these members spent up to as_of")
    clv: float


class ChurnRead(BaseModel):
    """Who is slipping away: members by churn risk, and the most valuable at risk."""

    currency: str
    fit: FitRead
    threshold: float
    members: int
    at_risk: int = Field(description="members with churn_risk >= threshold")
    at_risk_revenue: float
    bands: list[ChurnBand]
    most_valuable_at_risk: list[MemberInsight] = Field(
        description="members at risk who spent the most, most first"
    )


class TopRead(BaseModel):
    """How much the best customers weigh, and members against non-members."""

    currency: str
    fit: FitRead
    share: float
    members: int = Field(description="members in the top")
    of_members: int
    revenue_share: float = Field(description="the top's share of the members' revenue")
    top_mean: float
    rest_mean: float
    times_rest: float | None = Field(description="top_mean / rest_mean (null: the rest spent 0)")
    top_member_ids: list[int]
    member_revenue: float
    member_purchases: int
    non_member_revenue: float = Field(description="sales with no member, where they are known")
    non_member_purchases: int
    member_share_of_sales: float | None
    member_mean_purchase: float | None
    non_member_mean_purchase: float | None


class BacktestGroupRead(BaseModel):
    label: str = Field(description="repeat purchases in the calibration period: 0 … 6, 7+")
    members: int
    actual: float
    predicted: float
    mean_actual: float
    mean_predicted: float
    mae: float


class BacktestRead(BaseModel):
    """The model fitted on the calibration period, its prediction of the holdout period
    against what the members did, per group and in total."""

    model: Model
    params: dict[str, float]
    log_likelihood: float
    calibration_end: date
    holdout_end: date
    holdout_weeks: float
    members: int
    actual: float
    predicted: float
    error_pct: float | None = Field(description="(predicted - actual) / actual × 100")
    mae: float = Field(description="mean absolute error per member")
    groups: list[BacktestGroupRead]


class TopShare(BaseModel):
    """The revenue share of the best customers (``insight.queries.top_share``)."""

    currency: str
    share: float
    members: int
    of_members: int
    revenue: float
    revenue_share: float


RecommendationKind = Literal["buy_again", "bought_together", "popular"]


class RecommendationRead(BaseModel):
    """One item offered to a member, and why (``insight.recommend``)."""

    sku: str
    name: str | None
    category: str | None
    kind: RecommendationKind = Field(
        description="buy_again: the member buys it and it is due; bought_together: it goes "
        "with something they buy (`because`); popular: neither, the club buys it"
    )
    score: float = Field(description="the estimated chance that today's basket holds it")
    because: str | None = Field(description="the sku of theirs it goes with")
    because_name: str | None = Field(description="its name")
    due_on: date | None = Field(description="for buy_again: the day it falls due")


class MemberRecommendations(BaseModel):
    member_id: int
    as_of: date = Field(description="the club's day the offer is for")
    fitted_as_of: date | None = Field(
        description="the day of the refit whose item figures were used (null: none yet; "
        "then only the member's own buy-again items are offered)"
    )
    items: list[RecommendationRead]


class RecommendationMethodRead(BaseModel):
    method: str = Field(description="popularity, buy_again, bought_together, next_best")
    members: int
    hit_rate: float = Field(description="members with at least one of the k in the basket")
    recall: float = Field(description="mean share of the held-out basket's items found")
    precision: float
    repeat_recall: float | None = Field(description="of held-out items bought before")
    new_recall: float | None = Field(description="of held-out items not bought before")


class RecommendationEvaluationRead(BaseModel):
    """Each member's last basket held out, the offer made from what came before."""

    k: int
    level: Literal["sku", "category"]
    members: int
    baskets: int
    items: int
    repeat_items: int = Field(description="held-out items the member had bought before")
    new_items: int = Field(description="held-out items the member had not bought before")
    results: list[RecommendationMethodRead]


class TimingMethodRead(BaseModel):
    method: str = Field(description="buy_again, frequency (baseline), recency (baseline)")
    auc: float | None = Field(description="the chance a buyer is ranked above a non-buyer")
    top_precision: float = Field(description="of the top share of members, the share who bought")
    top_recall: float | None = Field(description="of the buyers, the share in that top")


class TimingEvaluationRead(BaseModel):
    """Who buys again in the holdout period, ranked by the buy-again score at the
    calibration's end against frequency and recency."""

    calibration_end: date
    holdout_end: date
    members: int
    buyers: int
    top_share: float
    results: list[TimingMethodRead]
