"""How good the recommendations are, offline (pure: NumPy and SciPy, no database).

``evaluate``: each member's last basket is held out; the item model is fitted on every basket
but those; each member's offer is computed from their earlier baskets, as of the day of the
held-out one (``lojal.insight.recommend``), and set against what the basket held — the hit
rate (at least one of the ``k`` in the basket), recall and precision at ``k``, and recall apart
for the held-out items the member had bought before (repeat) and those they had not (new), for
the next-best offer, for its parts alone, and for the popularity baseline (the ``k`` most
popular items, the same for everyone). ``evaluate_timing`` asks the other question, for
histories with no items (CDNOW): is the member due — do they buy at all in a holdout period?
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata

from lojal.insight.arrays import BoolArray, FloatArray, IntArray
from lojal.insight.recommend import (
    Baskets,
    Options,
    bought_together,
    buy_again,
    fit,
    member_index,
)

METHODS = ("popularity", "buy_again", "bought_together", "next_best")


@dataclass(frozen=True, slots=True)
class MethodResult:
    method: str
    members: int
    hit_rate: float
    recall: float
    precision: float
    repeat_recall: float  # held-out items bought before: the share found
    new_recall: float  # held-out items not bought before: the share found
    repeat_items: int
    new_items: int


@dataclass(frozen=True)
class Evaluation:
    k: int
    members: int  # evaluated: with a basket before their last
    baskets: int  # the model was fitted on
    items: int
    results: list[MethodResult] = field(default_factory=list)

    def of(self, method: str) -> MethodResult:
        return next(r for r in self.results if r.method == method)


def evaluate(baskets: Baskets, options: Options | None = None) -> Evaluation:
    """Each member's last basket held out (see the module doc)."""
    o = options or Options()
    member, day = baskets.member, baskets.day
    last = _last_day(member, day)
    held = day == last[member_index(member)]
    model = fit(baskets.where(~held), o)
    popular = model.popular(o.k)
    members = np.unique(member)
    starts = np.searchsorted(member, members, side="left")
    ends = np.searchsorted(member, members, side="right")
    counts: dict[str, list[float]] = {m: [0, 0, 0, 0, 0, 0.0, 0.0] for m in METHODS}
    n_members = repeat_total = new_total = 0
    for start, end in zip(starts, ends, strict=True):
        d, it, h = day[start:end], baskets.item[start:end], held[start:end]
        if h.all():
            continue  # one basket: nothing to learn from
        n_members += 1
        target = set(it[h].tolist())
        history = set(it[~h].tolist())
        repeat = target & history
        new = target - history
        repeat_total += len(repeat)
        new_total += len(new)
        as_of = int(d[h][0])
        again, never = buy_again(d[~h], it[~h], as_of=as_of, model=model, options=o)
        visits = len(np.unique(d[~h]))
        together = bought_together(sorted(history), model=model, visits=visits, options=o)
        combined = sorted([*again, *together], key=lambda s: (-s.score, s.item))
        fill = [int(i) for i in model.popular(len(model.items))]
        lists = {
            "popularity": [int(i) for i in popular],
            "buy_again": _fill([s.item for s in again], fill, o.k, never),
            "bought_together": _fill([s.item for s in together], fill, o.k, never | history),
            "next_best": [s.item for s in combined if s.item not in never][: o.k],
        }
        for method, chosen in lists.items():
            found = set(chosen) & target
            c = counts[method]
            c[0] += 1 if found else 0
            c[1] += len(found) / len(target)
            c[2] += len(found) / o.k
            c[3] += len(found & repeat)
            c[4] += len(found & new)
    results = [
        MethodResult(
            method=method,
            members=n_members,
            hit_rate=c[0] / max(n_members, 1),
            recall=c[1] / max(n_members, 1),
            precision=c[2] / max(n_members, 1),
            repeat_recall=c[3] / repeat_total if repeat_total else math.nan,
            new_recall=c[4] / new_total if new_total else math.nan,
            repeat_items=repeat_total,
            new_items=new_total,
        )
        for method, c in counts.items()
    ]
    return Evaluation(
        k=o.k, members=n_members, baskets=model.baskets, items=len(model.items), results=results
    )


def _fill(first: list[int], then: list[int], k: int, leave_out: set[int]) -> list[int]:
    chosen: list[int] = []
    for i in (*first, *then):
        if i not in leave_out and i not in chosen:
            chosen.append(i)
            if len(chosen) == k:
                break
    return chosen


def _last_day(member: IntArray, day: IntArray) -> IntArray:
    index = member_index(member)
    last = np.full(int(index.max()) + 1 if len(index) else 0, np.iinfo(np.int64).min)
    np.maximum.at(last, index, day)
    return last


# ---------------------------------------------------------------- timing (no items)


@dataclass(frozen=True, slots=True)
class TimingResult:
    method: str
    auc: float  # the chance a buyer of the holdout is ranked above a non-buyer
    top_precision: float  # of the top ``top_share`` of members, the share who bought
    top_recall: float  # of the holdout's buyers, the share in that top


@dataclass(frozen=True)
class TimingEvaluation:
    members: int
    buyers: int  # bought in the holdout
    top_share: float
    results: list[TimingResult]

    def of(self, method: str) -> TimingResult:
        return next(r for r in self.results if r.method == method)


def evaluate_timing(
    baskets: Baskets,
    *,
    calibration_end: int,
    holdout_end: int,
    options: Options | None = None,
    top_share: float = 0.1,
) -> TimingEvaluation:
    """Will each member who bought by ``calibration_end`` buy again in the days after it, up
    to ``holdout_end``? Ranked by their best buy-again score as of the day after the
    calibration, against two baselines: frequency (members who bought most often first, the
    popularity of members) and recency (most recent first)."""
    o = options or Options()
    calibration = baskets.where(baskets.day <= calibration_end)
    model = fit(calibration, o)
    later = baskets.member[(baskets.day > calibration_end) & (baskets.day <= holdout_end)]
    members = np.unique(calibration.member)
    bought = np.isin(members, later)
    starts = np.searchsorted(calibration.member, members, side="left")
    ends = np.searchsorted(calibration.member, members, side="right")
    horizon = holdout_end - calibration_end
    due = np.zeros(len(members))
    frequency = np.zeros(len(members))
    recency = np.zeros(len(members))
    for n, (start, end) in enumerate(zip(starts, ends, strict=True)):
        d, it = calibration.day[start:end], calibration.item[start:end]
        again, _ = buy_again(
            d, it, as_of=calibration_end + 1, model=model, options=o, horizon=horizon
        )
        due[n] = max((s.score for s in again), default=0.0)
        frequency[n] = len(np.unique(d))
        recency[n] = int(d.max())
    results = [
        _timing(name, scores, bought, top_share)
        for name, scores in (("buy_again", due), ("frequency", frequency), ("recency", recency))
    ]
    return TimingEvaluation(
        members=len(members), buyers=int(bought.sum()), top_share=top_share, results=results
    )


def _timing(method: str, scores: FloatArray, bought: BoolArray, top_share: float) -> TimingResult:
    positives = int(bought.sum())
    negatives = len(bought) - positives
    ranks = rankdata(scores)
    auc = (
        (float(ranks[bought].sum()) - positives * (positives + 1) / 2) / (positives * negatives)
        if positives and negatives
        else math.nan
    )
    top = max(1, round(len(scores) * top_share))
    # ties at the cut are broken by member order, the same for every method
    chosen = np.lexsort((np.arange(len(scores)), -scores))[:top]
    hits = int(bought[chosen].sum())
    return TimingResult(
        method=method,
        auc=auc,
        top_precision=hits / top,
        top_recall=hits / positives if positives else math.nan,
    )
