"""``/api/v1/insight``: the stored figures a marketer reads (RFM, CLV, churn risk, the top
customers), a member's own, the refit that replaces them, and the holdout backtest.

Every read is of the figures the last refit stored (``insight.queries``), never a fit per
request; before the first refit they answer 409 ``NotFitted``. The backtest is the one
computation on request: its cut is the caller's choice. Money is in major units of the
club's ``currency``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from lojal.inputs import MAX_ID, Day
from lojal.insight import queries, recommendations, service, tasks
from lojal.insight.schemas import (
    BacktestRead,
    ChurnRead,
    ClvRead,
    FitRead,
    MemberInsight,
    MemberInsightPage,
    MemberRecommendations,
    Model,
    RecommendationEvaluationRead,
    RefitQueued,
    RefitRequest,
    RfmGroup,
    RfmRead,
    TopRead,
)
from lojal.web.deps import (
    API_PREFIX,
    Admin,
    AdminWrite,
    Channel,
    MemberIdPath,
    NowDep,
    SessionDep,
)
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["insight"])


@router.get("/insight/fit", response_model=FitRead)
def fit(session: SessionDep, _: Admin) -> FitRead:
    """The last refit: as of which day, with which options, and the fitted parameters."""
    return queries.fit_read(queries.current_fit(session))


@router.post("/insight/refit", response_model=RefitQueued, status_code=202)
async def refit(body: RefitRequest, write: AdminWrite) -> Response:
    """Queue a refit of every member's figures (the worker runs it, ``insight_refit``);
    options left out are the last fit's, the day is yesterday's."""

    def work(session: Session, now: datetime) -> Reply:
        job = tasks.enqueue(session, now=now, request=body)
        return Reply.of(RefitQueued(job_id=job, kind=tasks.KIND, queued=job is not None), 202)

    return await write(work)


@router.get("/insight/members", response_model=MemberInsightPage)
def members(
    session: SessionDep,
    _: Admin,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="The last member id seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    group: Annotated[RfmGroup | None, Query(description="Only this RFM group")] = None,
) -> MemberInsightPage:
    """Every scored member's figures, by member id, a page at a time."""
    return queries.members_page(session, after=after, limit=limit, group=group)


@router.get("/members/{member_id}/insight", response_model=MemberInsight)
def member(member_id: MemberIdPath, session: SessionDep, _: Admin) -> MemberInsight:
    """One member's RFM scores and group, probability alive, churn risk, expected purchases,
    CLV and simple CLV."""
    return queries.member_insight(session, member_id)


@router.get("/insight/rfm", response_model=RfmRead)
def rfm(session: SessionDep, _: Admin) -> RfmRead:
    """The RFM grid (R 5..1 by FM 1..5) with members and revenue per cell, and the groups."""
    return queries.rfm(session)


@router.get("/insight/clv", response_model=ClvRead)
def clv(
    session: SessionDep,
    _: Admin,
    highest: Annotated[int, Query(ge=0, le=1000, description="How many top members")] = 10,
) -> ClvRead:
    """Lifetime value over the fit's horizon: in total, by RFM group, and the highest."""
    return queries.clv(session, highest=highest)


@router.get("/insight/churn", response_model=ChurnRead)
def churn(
    session: SessionDep,
    _: Admin,
    threshold: Annotated[float, Query(ge=0, le=1, description="At risk from this risk")] = 0.5,
    limit: Annotated[int, Query(ge=0, le=1000)] = 10,
) -> ChurnRead:
    """Members by churn risk (1 − probability alive), and the at-risk members who spent most."""
    return queries.churn(session, threshold=threshold, limit=limit)


@router.get("/insight/top", response_model=TopRead)
def top(
    session: SessionDep,
    _: Admin,
    share: Annotated[float, Query(gt=0, lt=1, description="The top share of members")] = 0.1,
) -> TopRead:
    """The top share of members by revenue, their share of it and how much more they spend
    than the rest; members' sales against sales with no member."""
    return queries.top(session, share=share)


@router.get("/insight/backtest", response_model=BacktestRead)
def backtest(
    session: SessionDep,
    now: NowDep,
    _: Admin,
    calibration_end: Annotated[Day, Query(description="The last local day fitted on")],
    holdout_end: Annotated[
        Day | None, Query(description="The last local day predicted (yesterday)")
    ] = None,
    model: Annotated[Model, Query(description="The purchase model")] = "bgnbd",
) -> BacktestRead:
    """Fit on the purchases up to ``calibration_end``, predict each member's purchase days up
    to ``holdout_end``, and set the prediction against what they did: in total and by the
    number of repeat purchases in the calibration period, with the errors."""
    return service.backtest(
        session,
        now=now,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        model=model,
    )


@router.get("/members/{member_id}/recommendations", response_model=MemberRecommendations)
def member_recommendations(
    member_id: MemberIdPath,
    session: SessionDep,
    now: NowDep,
    _: Channel,
    k: Annotated[int, Query(ge=1, le=50, description="How many items")] = 5,
) -> MemberRecommendations:
    """The member's next-best offer for today: items they buy that are due (buy again), items
    that go with what they buy (bought together), else what the club buys (popular) — from
    the item figures of the last refit and the member's own baskets."""
    return recommendations.for_member(session, member_id=member_id, now=now, k=k)


@router.get("/insight/recommendations/evaluation", response_model=RecommendationEvaluationRead)
def recommendation_evaluation(
    session: SessionDep,
    now: NowDep,
    _: Admin,
    k: Annotated[int, Query(ge=1, le=50, description="How many items per member")] = 5,
    level: Annotated[
        Literal["sku", "category"], Query(description="Items are skus or categories")
    ] = "sku",
    until: Annotated[Day | None, Query(description="The last local day read (yesterday)")] = None,
) -> RecommendationEvaluationRead:
    """Each member's last basket held out; the next-best offer, its parts and the popularity
    baseline made from what came before, set against what the basket held: hit rate, recall
    and precision at k, recall of repeat and of new items apart."""
    return recommendations.evaluate(session, now=now, k=k, level=level, until=until)
