"""Recommendations for members, from the item figures the refit stores.

The refit (``insight.service.refit``) fits ``insight.recommend``'s item model on every basket
up to its day and replaces ``recommendation_items`` (each item's popularity, buyers, repeat
rate and typical interval) and ``recommendation_pairs`` (each item's strongest
bought-together pairs, with their lift and cosine) with it, in its transaction (``store``).
A member's offer (``for_member``) reads those and the member's own baskets only — two indexed
reads, no fit per request — and ranks them with ``recommend.next_best`` as of the club's
day. Before the first refit a member is offered only their own buy-again items.

``evaluate`` runs the held-out-basket evaluation on the club's baskets (a computation on
request, like the backtest). ``template_values`` is what a message template reads of a
member's offer (``recommendations``: a list of ``{sku, name, category, kind, because,
because_name, due_on}``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from scipy import sparse
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from lojal.calendar import local_day
from lojal.insight import recommend, recommend_evaluation
from lojal.insight.baskets import Level, club_baskets
from lojal.insight.errors import InvalidPeriod, NotEnoughHistory
from lojal.insight.models import InsightFit, RecommendationItem, RecommendationPair
from lojal.insight.schemas import (
    MemberRecommendations,
    RecommendationEvaluationRead,
    RecommendationMethodRead,
    RecommendationRead,
    TimingEvaluationRead,
    TimingMethodRead,
)
from lojal.members import service as members
from lojal.program import service as program

INSERT_BATCH = 5000
DEFAULT_K = 5
# An offer reads the items paired with the member's and this many of the most popular ones.
POPULAR_READ = 50


def store(session: Session, *, fit: InsightFit, zone: ZoneInfo, as_of: date) -> int:
    """Replace the stored item figures with those of every basket up to ``as_of``; the
    number of items."""
    found = club_baskets(session, zone=zone, until=as_of)
    model = recommend.fit(found.baskets)
    session.execute(delete(RecommendationPair))
    session.execute(delete(RecommendationItem))
    share = model.share
    items = [
        {
            "sku": sku,
            "fit_id": fit.id,
            "name": found.names.get(sku, (None, None))[0],
            "category": found.names.get(sku, (None, None))[1],
            "buyers": int(model.buyers[i]),
            "baskets": int(model.basket_count[i]),
            "repeat_buyers": int(model.repeat_buyers[i]),
            "repeat_rate": float(model.repeat_rate[i]),
            "interval_days": None if math.isnan(model.interval[i]) else float(model.interval[i]),
            "share": float(share[i]),
        }
        for i, sku in enumerate(model.items)
    ]
    together = model.together.tocoo()
    lift = _values(model.lift)
    cosine = _values(model.cosine)
    pairs = [
        {
            "sku": model.items[i],
            "other": model.items[j],
            "together": int(n),
            "lift": lift[(i, j)],
            "cosine": cosine[(i, j)],
        }
        for i, j, n in zip(together.row.tolist(), together.col.tolist(), together.data, strict=True)
    ]
    for rows, table in ((items, RecommendationItem), (pairs, RecommendationPair)):
        for start in range(0, len(rows), INSERT_BATCH):
            session.execute(insert(table), rows[start : start + INSERT_BATCH])
    return len(items)


def _values(matrix: sparse.csr_matrix) -> dict[tuple[int, int], float]:
    coo = matrix.tocoo()
    return {
        (int(i), int(j)): float(v)
        for i, j, v in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    }


class Stored:
    """The stored item model, with each item's name and category and the fit's day."""

    def __init__(
        self,
        model: recommend.ItemModel,
        names: dict[str, tuple[str | None, str | None]],
        as_of: date | None,
    ) -> None:
        self.model = model
        self.names = names
        self.as_of = as_of
        self.index = model.index()


def stored(session: Session, *, around: Sequence[str] | None = None) -> Stored | None:
    """The stored item model; ``around``: only what an offer to a member who bought these
    skus can use — them, the items paired with them, and the most popular items."""
    pair_query = select(RecommendationPair)
    item_query = select(RecommendationItem).order_by(RecommendationItem.sku)
    if around is not None:
        pairs = list(
            session.scalars(pair_query.where(RecommendationPair.sku.in_(sorted(set(around)))))
        )
        popular = session.scalars(
            select(RecommendationItem.sku)
            .order_by(RecommendationItem.baskets.desc(), RecommendationItem.sku)
            .limit(POPULAR_READ)
        )
        wanted = {*around, *(p.other for p in pairs), *popular}
        rows = list(session.scalars(item_query.where(RecommendationItem.sku.in_(sorted(wanted)))))
    else:
        pairs = list(session.scalars(pair_query))
        rows = list(session.scalars(item_query))
    if not rows:
        return None
    fit = session.get(InsightFit, rows[0].fit_id)
    items = tuple(r.sku for r in rows)
    index = {sku: i for i, sku in enumerate(items)}
    with_share = [r for r in rows if r.share > 0]
    baskets = round(with_share[0].baskets / with_share[0].share) if with_share else 0
    i_, j_, n_, lift_, cos_ = [], [], [], [], []
    for pair in pairs:
        if pair.sku in index and pair.other in index:
            i_.append(index[pair.sku])
            j_.append(index[pair.other])
            n_.append(float(pair.together))
            lift_.append(pair.lift)
            cos_.append(pair.cosine)
    shape = (len(items), len(items))

    def matrix(values: list[float]) -> sparse.csr_matrix:
        return sparse.csr_matrix((values, (i_, j_)), shape=shape)

    model = recommend.ItemModel(
        items=items,
        baskets=baskets,
        basket_count=np.array([r.baskets for r in rows], dtype=np.int64),
        buyers=np.array([r.buyers for r in rows], dtype=np.int64),
        repeat_buyers=np.array([r.repeat_buyers for r in rows], dtype=np.int64),
        repeat_rate=np.array([r.repeat_rate for r in rows], dtype=np.float64),
        interval=np.array(
            [math.nan if r.interval_days is None else r.interval_days for r in rows],
            dtype=np.float64,
        ),
        lift=matrix(lift_),
        cosine=matrix(cos_),
        together=matrix(n_),
    )
    names = {r.sku: (r.name, r.category) for r in rows}
    return Stored(model, names, fit.as_of if fit is not None else None)


def for_member(
    session: Session, *, member_id: int, now: datetime, k: int = DEFAULT_K
) -> MemberRecommendations:
    """The member's next-best offer for today (the club's day), best first."""
    member = members.resolve(session, members.get(session, member_id))
    zone = ZoneInfo(program.current(session).timezone)
    today = local_day(now, zone)
    own = club_baskets(session, zone=zone, member_id=member.id, until=today - timedelta(1))
    known = stored(session, around=own.baskets.items)
    if known is None:
        # no refit yet: the member's own items, so only buy-again can be said
        known = Stored(recommend.fit(own.baskets), own.names, None)
    index = known.index
    rows = own.baskets
    mapped = [index.get(rows.items[i], -1) for i in rows.item.tolist()]
    keep = np.asarray(mapped, dtype=np.int64) >= 0
    offers = recommend.next_best(
        rows.day[keep],
        np.asarray(mapped, dtype=np.int64)[keep],
        as_of=today.toordinal(),
        model=known.model,
        options=recommend.Options(k=k),
    )
    items = known.model.items
    return MemberRecommendations(
        member_id=member.id,
        as_of=today,
        fitted_as_of=known.as_of,
        items=[
            RecommendationRead(
                sku=items[s.item],
                name=known.names.get(items[s.item], (None, None))[0],
                category=known.names.get(items[s.item], (None, None))[1],
                kind=s.kind,
                score=round(s.score, 6),
                because=items[s.because] if s.because is not None else None,
                because_name=known.names.get(items[s.because], (None, None))[0]
                if s.because is not None
                else None,
                due_on=date.fromordinal(s.due_on) if s.due_on is not None else None,
            )
            for s in offers
        ],
    )


def template_values(
    session: Session, *, member_id: int, now: datetime, k: int = 3
) -> list[dict[str, Any]]:
    """What a message template reads as ``recommendations``: the member's offer as plain
    values (``because_name``: the name of the item it goes with)."""
    found = for_member(session, member_id=member_id, now=now, k=k)
    return [
        {
            "sku": r.sku,
            "name": r.name or r.sku,
            "category": r.category,
            "kind": r.kind,
            "because": r.because,
            "because_name": r.because_name or r.because,
            "due_on": r.due_on,
        }
        for r in found.items
    ]


def evaluate(
    session: Session,
    *,
    now: datetime,
    k: int = DEFAULT_K,
    level: Level = "sku",
    until: date | None = None,
) -> RecommendationEvaluationRead:
    """Each member's last basket up to ``until`` (yesterday) held out; the methods compared."""
    zone = ZoneInfo(program.current(session).timezone)
    end = until or local_day(now, zone) - timedelta(1)
    found = club_baskets(session, zone=zone, until=end, level=level)
    if len(found.baskets) == 0:
        raise NotEnoughHistory(f"up to {end}, no member bought an item: nothing to evaluate")
    done = recommend_evaluation.evaluate(found.baskets, recommend.Options(k=k))
    if done.members == 0:
        raise NotEnoughHistory(f"up to {end}, no member came back: nothing to evaluate")
    first = done.results[0]
    return RecommendationEvaluationRead(
        k=done.k,
        level=level,
        members=done.members,
        baskets=done.baskets,
        items=done.items,
        repeat_items=first.repeat_items,
        new_items=first.new_items,
        results=[
            RecommendationMethodRead(
                method=r.method,
                members=r.members,
                hit_rate=r.hit_rate,
                recall=r.recall,
                precision=r.precision,
                repeat_recall=None if math.isnan(r.repeat_recall) else r.repeat_recall,
                new_recall=None if math.isnan(r.new_recall) else r.new_recall,
            )
            for r in done.results
        ],
    )


def evaluate_timing(
    session: Session,
    *,
    now: datetime,
    calibration_end: date,
    holdout_end: date | None = None,
    top_share: float = 0.1,
) -> TimingEvaluationRead:
    """Does the buy-again score find who buys again after ``calibration_end`` (up to
    ``holdout_end``, yesterday)? For histories whose items say little (CDNOW: one sku)."""
    zone = ZoneInfo(program.current(session).timezone)
    today = local_day(now, zone)
    end = holdout_end or today - timedelta(1)
    if end > today:
        raise InvalidPeriod(f"holdout_end {end} is after today ({today})", field="holdout_end")
    if calibration_end >= end:
        raise InvalidPeriod(
            f"calibration_end {calibration_end} must be before holdout_end {end}",
            field="calibration_end",
        )
    found = club_baskets(session, zone=zone, until=end)
    if not np.any(found.baskets.day <= calibration_end.toordinal()):
        raise NotEnoughHistory(f"nobody bought anything up to {calibration_end}")
    done = recommend_evaluation.evaluate_timing(
        found.baskets,
        calibration_end=calibration_end.toordinal(),
        holdout_end=end.toordinal(),
        top_share=top_share,
    )
    return TimingEvaluationRead(
        calibration_end=calibration_end,
        holdout_end=end,
        members=done.members,
        buyers=done.buyers,
        top_share=done.top_share,
        results=[
            TimingMethodRead(
                method=r.method,
                auc=None if math.isnan(r.auc) else r.auc,
                top_precision=r.top_precision,
                top_recall=None if math.isnan(r.top_recall) else r.top_recall,
            )
            for r in done.results
        ],
    )
