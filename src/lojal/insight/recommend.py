"""Recommendations from baskets (pure: NumPy and SciPy, no database).

A **basket** is what one member bought on one local day of the club (several receipts on one
day are one basket, as in the rest of ``insight``); an **item** is a sku (or, for coarser
advice, a category). The input is every member's ``(member, day, item)``, each once
(``Baskets``). Three ideas, and one offer that combines them:

**Buy again** (personal repeat). For an item a member has bought, three questions: *does
this member re-buy it at all*, *how often is it in their basket*, and *is it due*?

* ``habit`` — ``(k + 1) / (k + 2)`` after ``k`` re-purchases (Laplace's rule of succession:
  each of the ``k`` was followed by another; will the last one be?).
* ``share`` — of the member's visits after their first purchase of the item, the share that
  held it, with the club's own share (``ItemModel.repeat_rate``: the same ratio over every
  buyer of the item) as a prior worth ``Options.prior`` visits:
  ``(k + prior·rate) / (m + prior)`` for ``k`` re-purchases in ``m`` later visits. A member
  who bought coffee beans on 4 of their 5 later visits has a share near 0.8; one who bought a
  grinder once and came back 9 times without buying another has a share near 0.
* ``due`` — the member's typical days between two purchases of the item (the median of their
  own gaps; the club's median, ``ItemModel.interval``, when they have bought it only once)
  against the days since they last bought it, ``ρ = elapsed / interval``: ``due = ρ`` while
  ``ρ < 1`` (not yet due: rising; over a horizon of ``h`` days, ``ρ + (h − 1) / interval``,
  at most 1), then 1, and once the longer of the member's and the club's interval has passed
  (a member who buys more often than most is not taken for lapsed sooner than a typical
  buyer), fading: ``exp(−(lapse − 1) / overdue)`` with ``lapse = elapsed / max(interval,
  club interval)``, since a member long overdue may have stopped buying it.

The buy-again score is ``habit × share × due``, an estimate of the chance that the member's
basket today holds the item. Items the member **never re-buys** are left out: an item that
nobody in the club has re-bought often enough (``rate < min_repeat_rate``) unless this member
has, and an item the member bought once and not again in ``never_after`` later visits.

**Bought together** (co-purchase). Over all baskets, ``together[i, j]`` counts the baskets
holding both ``i`` and ``j``. Raw counts favour what is popular anyway, so each pair is
normalised two ways: the **lift** ``together / expected``, with ``expected = n_i·n_j / N`` (how
often they would meet by chance; shrunk towards 1 by ``Options.pseudo`` baskets, so that two
rare items seen together once do not top the list) and the **cosine**
``together / √(n_i·n_j)``. Pairs seen together fewer than ``min_together`` times are dropped.
"Bought together with X" lists rank by cosine (``ItemModel.neighbours``).

**Popularity**: the share of all baskets that hold the item (``ItemModel.share``).

**The next-best offer** ranks, for one member, every item on one scale — the chance that
today's basket holds it: items the member buys, by their buy-again score; items they have
not bought, by ``share × lift`` with the item of theirs it goes best with (``share`` alone,
popularity, when nothing of theirs goes with it), times ``trial / (trial + visits)``: a member
who came ``visits`` times without buying an item is less likely to than the club's baskets
say. The first ``k`` are the offer; each says why (``kind``: ``buy_again``,
``bought_together``, ``popular``; ``because``: the item it goes with; ``due_on``: the day a
buy-again item is due).

How good they are, offline, against the popularity baseline: ``lojal.insight.recommend_evaluation``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import sparse

from lojal.insight.arrays import BoolArray, FloatArray, IntArray

Kind = Literal["buy_again", "bought_together", "popular"]


@dataclass(frozen=True, slots=True)
class Options:
    k: int = 5
    prior: float = 1.0  # the club's repeat rate counts as this many of a member's visits
    overdue: float = 4.0  # an overdue item fades by 1/e every this many intervals
    min_repeat_rate: float = 0.02  # below, nobody re-buys the item
    never_after: int = 5  # bought once, not again in this many later visits: not re-bought
    min_together: int = 2  # pairs seen together fewer times are dropped
    pseudo: float = 1.0  # the lift is shrunk towards 1 by this many baskets
    neighbours: int = 20  # pairs kept per item
    trial: float = 1.0  # a new item's chance counts the member's visits without it against this


@dataclass(frozen=True)
class Baskets:
    """Rows ``(member, day, item)``, each once; ``item`` indexes ``items``."""

    member: IntArray
    day: IntArray
    item: IntArray
    items: tuple[str, ...]

    @classmethod
    def of(cls, members: Sequence[int], days: Sequence[int], keys: Sequence[str]) -> Baskets:
        """From parallel lists (the same member, day and item twice is one row)."""
        items, codes = np.unique(np.asarray(keys, dtype=object), return_inverse=True)
        return cls._distinct(
            np.asarray(members, dtype=np.int64),
            np.asarray(days, dtype=np.int64),
            codes.astype(np.int64),
            tuple(str(i) for i in items),
        )

    @classmethod
    def _distinct(
        cls, member: IntArray, day: IntArray, item: IntArray, items: tuple[str, ...]
    ) -> Baskets:
        if len(member) == 0:
            return cls(member, day, item, items)
        order = np.lexsort((day, item, member))
        member, day, item = member[order], day[order], item[order]
        keep = np.ones(len(member), dtype=bool)
        keep[1:] = (member[1:] != member[:-1]) | (item[1:] != item[:-1]) | (day[1:] != day[:-1])
        return cls(member[keep], day[keep], item[keep], items)

    def __len__(self) -> int:
        return len(self.member)

    def where(self, mask: BoolArray) -> Baskets:
        """The rows where ``mask`` is true, in the same order."""
        return Baskets(self.member[mask], self.day[mask], self.item[mask], self.items)


@dataclass(frozen=True)
class ItemModel:
    """What the club's baskets say of each item (index ``i`` of ``items``) and of pairs."""

    items: tuple[str, ...]
    baskets: int  # N: every basket
    basket_count: IntArray  # baskets holding the item
    buyers: IntArray  # members who bought it
    repeat_buyers: IntArray  # members who bought it on two days or more
    repeat_rate: FloatArray  # of buyers' visits after their first purchase of it, the share with it
    interval: FloatArray  # the median of buyers' median days between purchases (nan: none)
    lift: sparse.csr_matrix  # shrunk lift of the kept pairs (0: not kept)
    cosine: sparse.csr_matrix
    together: sparse.csr_matrix

    @property
    def share(self) -> FloatArray:
        """Popularity: the share of baskets holding the item."""
        return self.basket_count / max(self.baskets, 1)

    def index(self) -> dict[str, int]:
        return {item: i for i, item in enumerate(self.items)}

    def neighbours(self, i: int) -> list[tuple[int, int, float, float]]:
        """The items bought with item ``i``: ``(j, together, lift, cosine)``, by cosine."""
        cosine = self.cosine.getrow(i).toarray().reshape(-1)
        lift = self.lift.getrow(i).toarray().reshape(-1)
        together = self.together.getrow(i).toarray().reshape(-1)
        found = [
            (int(j), int(together[j]), float(lift[j]), float(cosine[j]))
            for j in np.flatnonzero(together > 0)
        ]
        return sorted(found, key=lambda t: (-t[3], -t[1], t[0]))

    def popular(self, k: int) -> IntArray:
        """The ``k`` most popular items (ties: the first item)."""
        return np.lexsort((np.arange(len(self.items)), -self.basket_count))[:k].astype(np.int64)


def fit(baskets: Baskets, options: Options | None = None) -> ItemModel:
    """Every item's figures and the kept pairs, from the baskets."""
    o = options or Options()
    n_items = len(baskets.items)
    member, day, item = baskets.member, baskets.day, baskets.item
    # baskets: distinct (member, day)
    basket_key = np.stack((member, day))
    _, basket_of = np.unique(basket_key, axis=1, return_inverse=True)
    basket_of = basket_of.reshape(-1).astype(np.int64)
    n_baskets = int(basket_of.max()) + 1 if len(basket_of) else 0
    b = sparse.csr_matrix(
        (np.ones(len(item)), (basket_of, item)), shape=(n_baskets, n_items), dtype=np.float64
    )
    b.data[:] = 1.0
    basket_count = np.asarray(b.sum(axis=0)).reshape(-1).astype(np.int64)
    together = (b.T @ b).tocsr()
    together.setdiag(0)
    together.eliminate_zeros()
    together.data[together.data < o.min_together] = 0
    together.eliminate_zeros()
    coo = together.tocoo()
    n_i = basket_count[coo.row].astype(np.float64)
    n_j = basket_count[coo.col].astype(np.float64)
    expected = n_i * n_j / max(n_baskets, 1)
    lift_values = (coo.data + o.pseudo) / (expected + o.pseudo)
    cosine_values = coo.data / np.sqrt(n_i * n_j)
    rows = coo.row.astype(np.int64)
    cols = coo.col.astype(np.int64)
    keep = _top_per_row(rows, cosine_values, o.neighbours)
    shape = (n_items, n_items)

    def matrix(values: FloatArray) -> sparse.csr_matrix:
        return sparse.csr_matrix((values[keep], (rows[keep], cols[keep])), shape=shape)

    pairs = _pairs(baskets)
    buyers = np.bincount(pairs.item, minlength=n_items).astype(np.int64)
    repeat_buyers = np.bincount(pairs.item[pairs.k > 0], minlength=n_items).astype(np.int64)
    k_sum = np.bincount(pairs.item, weights=pairs.k, minlength=n_items)
    m_sum = np.bincount(pairs.item, weights=pairs.m, minlength=n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        repeat_rate = np.where(m_sum > 0, k_sum / m_sum, 0.0)
    rebought = pairs.k > 0
    interval = _group_median(pairs.item[rebought], pairs.gap[rebought], n_items)
    return ItemModel(
        items=baskets.items,
        baskets=n_baskets,
        basket_count=basket_count,
        buyers=buyers,
        repeat_buyers=repeat_buyers,
        repeat_rate=repeat_rate.astype(np.float64),
        interval=interval,
        lift=matrix(lift_values),
        cosine=matrix(cosine_values),
        together=matrix(coo.data.astype(np.float64)),
    )


def _top_per_row(rows: IntArray, values: FloatArray, k: int) -> IntArray:
    """The positions of the ``k`` highest values of each row."""
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((-values, rows))
    sorted_rows = rows[order]
    starts = np.r_[0, np.flatnonzero(sorted_rows[1:] != sorted_rows[:-1]) + 1]
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    return np.sort(order[rank < k]).astype(np.int64)


@dataclass(frozen=True)
class _Pairs:
    """Per (member, item): re-purchases ``k``, later visits ``m``, median gap, last day."""

    member: IntArray
    item: IntArray
    k: FloatArray
    m: FloatArray
    gap: FloatArray
    last: IntArray


def _pairs(baskets: Baskets) -> _Pairs:
    member, day, item = baskets.member, baskets.day, baskets.item  # sorted: member, item, day
    if len(member) == 0:
        empty_i = np.zeros(0, dtype=np.int64)
        empty_f = np.zeros(0, dtype=np.float64)
        return _Pairs(empty_i, empty_i, empty_f, empty_f, empty_f, empty_i)
    new = np.ones(len(member), dtype=bool)
    new[1:] = (member[1:] != member[:-1]) | (item[1:] != item[:-1])
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(member)]
    count = ends - starts
    first = day[starts]
    last = day[ends - 1]
    # the member's distinct visit days, to count the visits after the item's first purchase
    # (keyed by the member's dense index and the day: ordinal days are below 10**7)
    dense = member_index(member)
    visit_key = np.unique(dense * _DAYS + day)
    pair_member = dense[starts]
    after = np.searchsorted(visit_key, pair_member * _DAYS + first, side="right")
    member_end = np.searchsorted(visit_key, (pair_member + 1) * _DAYS, side="left")
    m = (member_end - after).astype(np.float64)
    # the median gap of each pair with two days or more
    gaps = np.diff(day).astype(np.float64)
    gap_owner = (np.cumsum(new)[1:] - 1).astype(np.int64)  # the pair of the later row
    same = ~new[1:]
    gap_median = _group_median(gap_owner[same], gaps[same], len(starts))
    return _Pairs(
        member=member[starts],
        item=item[starts],
        k=(count - 1).astype(np.float64),
        m=m,
        gap=gap_median,
        last=last.astype(np.int64),
    )


_DAYS = 10_000_000


def _group_median(groups: IntArray, values: FloatArray, n: int) -> FloatArray:
    """The median of ``values`` per group ``0..n-1`` (nan for a group with none)."""
    out = np.full(n, np.nan)
    if len(values) == 0:
        return out
    order = np.lexsort((values, groups))
    groups, values = groups[order], values[order]
    start = np.r_[0, np.flatnonzero(groups[1:] != groups[:-1]) + 1]
    length = np.diff(np.r_[start, len(groups)])
    low = values[start + (length - 1) // 2]
    high = values[start + length // 2]
    out[groups[start]] = (low + high) / 2
    return out


# ---------------------------------------------------------------- one member


@dataclass(frozen=True, slots=True)
class Scored:
    item: int
    score: float
    kind: Kind
    because: int | None = None  # the member's item it goes with (bought together)
    due_on: int | None = None  # the day a buy-again item is due (ordinal)
    share: float | None = None  # the member's buy-again share
    interval: float | None = None  # days between purchases used


def buy_again(
    days: Sequence[int] | IntArray,
    items: Sequence[int] | IntArray,
    *,
    as_of: int,
    model: ItemModel,
    options: Options | None = None,
    horizon: int = 1,
) -> tuple[list[Scored], set[int]]:
    """The member's buy-again scores as of the day ``as_of`` (from their rows before it), and
    the items of theirs they never re-buy (left out of every list). ``horizon``: the days
    from ``as_of`` the question is about (1: that day's basket; a longer one asks whether the
    item falls due at some time in it)."""
    o = options or Options()
    day = np.asarray(days, dtype=np.int64)
    item = np.asarray(items, dtype=np.int64)
    before = day < as_of
    day, item = day[before], item[before]
    visits = np.unique(day)
    scored: list[Scored] = []
    never: set[int] = set()
    for i in np.unique(item):
        own = np.unique(day[item == i])
        k = len(own) - 1
        m = int(np.count_nonzero(visits > own[0]))
        rate = float(model.repeat_rate[i]) if i < len(model.repeat_rate) else 0.0
        if k == 0 and (rate < o.min_repeat_rate or m >= o.never_after):
            never.add(int(i))
            continue
        interval = float(np.median(np.diff(own))) if k > 0 else float(model.interval[i])
        if math.isnan(interval) or interval <= 0:
            never.add(int(i))
            continue
        share = (k + o.prior * rate) / (m + o.prior)
        habit = (k + 1) / (k + 2)
        elapsed = as_of - int(own[-1])
        club = float(model.interval[i])
        due = _due(elapsed, interval, interval if math.isnan(club) else club, horizon, o)
        scored.append(
            Scored(
                item=int(i),
                score=habit * share * due,
                kind="buy_again",
                due_on=int(own[-1]) + round(interval),
                share=share,
                interval=interval,
            )
        )
    scored.sort(key=lambda s: (-s.score, s.item))
    return scored, never


def _due(elapsed: int, interval: float, club: float, horizon: int, o: Options) -> float:
    """Whether an item falls due in the ``horizon`` days from now, ``elapsed`` days after its
    last purchase: rising to 1 as the member's ``interval`` passes; fading once the longer of
    their interval and the ``club``'s has passed (a member who buys more often than most is
    not taken for lapsed sooner than a typical buyer)."""
    rho = elapsed / interval
    if rho < 1:
        return min(1.0, rho + (horizon - 1) / interval)
    lapse = elapsed / max(interval, club)
    return 1.0 if lapse <= 1 else math.exp(-(lapse - 1) / o.overdue)


def bought_together(
    bought: Sequence[int] | IntArray,
    *,
    model: ItemModel,
    visits: int = 0,
    options: Options | None = None,
) -> list[Scored]:
    """Items the member has not bought, by ``share × lift`` with the item of theirs it goes
    best with (an item with no kept pair: its popularity alone), times
    ``trial / (trial + visits)``: a member who came ``visits`` times without buying an item
    is less likely to buy it than the club's baskets say."""
    o = options or Options()
    own = sorted({int(i) for i in bought})
    share = model.share
    # a member who came ``visits`` times without buying an item is less likely to than most
    untried = o.trial / (o.trial + visits)
    best_lift = np.ones(len(model.items))
    because = np.full(len(model.items), -1, dtype=np.int64)
    if own:
        block = model.lift[own].toarray()  # rows: the member's items
        # a kept pair with lift below 1 counts: it says they go together less than by chance
        present: BoolArray = np.asarray(model.together[own].toarray() > 0)
        values = np.where(present, block, np.nan)
        with np.errstate(all="ignore"):
            any_pair: BoolArray = np.asarray(present.any(axis=0))
            best = np.nanargmax(np.where(any_pair[None, :], values, -np.inf), axis=0)
        best_lift = np.where(any_pair, values[best, np.arange(len(model.items))], 1.0)
        because = np.where(any_pair, np.asarray(own)[best], -1)
    scored = [
        Scored(
            item=i,
            score=float(share[i] * best_lift[i]) * untried,
            kind="bought_together" if because[i] >= 0 and best_lift[i] > 1 else "popular",
            because=int(because[i]) if because[i] >= 0 and best_lift[i] > 1 else None,
        )
        for i in range(len(model.items))
        if i not in set(own)
    ]
    scored.sort(key=lambda s: (-s.score, s.item))
    return scored


def next_best(
    days: Sequence[int] | IntArray,
    items: Sequence[int] | IntArray,
    *,
    as_of: int,
    model: ItemModel,
    options: Options | None = None,
) -> list[Scored]:
    """The member's ``k`` best offers as of ``as_of``: buy-again and new items on one scale."""
    o = options or Options()
    day = np.asarray(days, dtype=np.int64)
    item = np.asarray(items, dtype=np.int64)
    again, never = buy_again(day, item, as_of=as_of, model=model, options=o)
    bought = set(item[day < as_of].tolist())
    visits = len(np.unique(day[day < as_of]))
    new = bought_together(sorted(bought), model=model, visits=visits, options=o)
    ranked = sorted([*again, *new], key=lambda s: (-s.score, s.item))
    return [s for s in ranked if s.item not in never][: o.k]


def member_index(member: IntArray) -> IntArray:
    _, index = np.unique(member, return_inverse=True)
    return index.reshape(-1).astype(np.int64)
