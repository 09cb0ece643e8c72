"""RFM: recency, frequency and monetary scores 1–5 and the named groups (pure: NumPy only).

Scores
------
Each of R, F and M is a quintile score from 1 (lowest fifth) to 5 (highest fifth):

* **R** from the day of the member's last transaction (later is better: 5 = most recent);
* **F** from the number of transactions (member-days) in the period;
* **M** from the total value in the period.

Ties: members with the same value always get the same score, the score of the first
position their value takes in ascending order. With ``n`` members, a value that ``k``
members are strictly below scores ``1 + floor(5k / n)``. So the score depends only on the
values (never on the order of the input or on member ids), and a value shared by many
members is not split across two scores — which also means the fifths are not always of equal
size (when half the members bought once, they all have F = 1 and the next score used is 3).

Groups
------
The groups are read from R and **FM** = the mean of F and M rounded half up (``(F+M+1)//2``).
The map (rows R = 5 … 1, columns FM = 1 … 5)::

    R\\FM  1               2                3                4               5
    5     new customers   potential loyal  potential loyal  champions       champions
    4     promising       potential loyal  potential loyal  loyal customers champions
    3     about to sleep  need attention   need attention   loyal customers loyal customers
    2     hibernating     about to sleep   at risk          at risk         can't lose them
    1     lost            hibernating      at risk          can't lose them can't lose them

(*potential loyal*: potential loyalists.)

Champions bought recently, often and for much; *can't lose them* were as good but have not
bought for a long time; *new customers* bought recently for the first time or little;
*lost* bought once, little, long ago. A club may pass its own map to ``rfm``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lojal.insight.arrays import IntArray, as_float

CHAMPIONS = "champions"
LOYAL = "loyal_customers"
POTENTIAL = "potential_loyalists"
NEW = "new_customers"
PROMISING = "promising"
NEED_ATTENTION = "need_attention"
ABOUT_TO_SLEEP = "about_to_sleep"
AT_RISK = "at_risk"
CANT_LOSE = "cant_lose_them"
HIBERNATING = "hibernating"
LOST = "lost"

GROUPS = (
    CHAMPIONS, LOYAL, POTENTIAL, NEW, PROMISING, NEED_ATTENTION, ABOUT_TO_SLEEP, AT_RISK,
    CANT_LOSE, HIBERNATING, LOST,
)  # fmt: skip

_ROWS = {
    5: (NEW, POTENTIAL, POTENTIAL, CHAMPIONS, CHAMPIONS),
    4: (PROMISING, POTENTIAL, POTENTIAL, LOYAL, CHAMPIONS),
    3: (ABOUT_TO_SLEEP, NEED_ATTENTION, NEED_ATTENTION, LOYAL, LOYAL),
    2: (HIBERNATING, ABOUT_TO_SLEEP, AT_RISK, AT_RISK, CANT_LOSE),
    1: (LOST, HIBERNATING, AT_RISK, CANT_LOSE, CANT_LOSE),
}
# (R, FM) → group
GROUP_MAP: Mapping[tuple[int, int], str] = {
    (r, fm): name for r, row in _ROWS.items() for fm, name in enumerate(row, start=1)
}


def quintile_scores(values: npt.ArrayLike) -> IntArray:
    """Scores 1–5: ``1 + floor(5k/n)`` where ``k`` members have a strictly lower value."""
    v = as_float(values)
    n = len(v)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    below = np.searchsorted(np.sort(v), v, side="left")
    return (1 + (5 * below) // n).astype(np.int64)


@dataclass(frozen=True)
class GridCell:
    r: int
    fm: int
    group: str
    members: int
    revenue: float


@dataclass(frozen=True)
class GroupTotal:
    group: str
    members: int
    revenue: float
    share_of_members: float
    share_of_revenue: float


@dataclass(frozen=True)
class RFM:
    """Per member (in the input's order) and in total."""

    r: IntArray
    f: IntArray
    m: IntArray
    fm: IntArray
    group: list[str]
    grid: list[GridCell]  # R = 5..1, FM = 1..5: all 25 cells, empty ones too
    groups: list[GroupTotal]  # in GROUPS order


def rfm(
    last_day: npt.ArrayLike,
    transactions: npt.ArrayLike,
    revenue: npt.ArrayLike,
    *,
    group_map: Mapping[tuple[int, int], str] = GROUP_MAP,
) -> RFM:
    """Scores, groups and the grid for members with their last transaction's day (any
    increasing number: a date ordinal), their transaction count and their revenue."""
    last, freq, money = as_float(last_day), as_float(transactions), as_float(revenue)
    if not (len(last) == len(freq) == len(money)):
        raise ValueError("last_day, transactions and revenue must have the same length")
    r, f, m = quintile_scores(last), quintile_scores(freq), quintile_scores(money)
    fm = (f + m + 1) // 2
    group = [group_map[(int(a), int(b))] for a, b in zip(r, fm, strict=True)]
    cell = (r - 1) * 5 + (fm - 1)
    counts = np.bincount(cell, minlength=25)
    sums = np.bincount(cell, weights=money, minlength=25)
    cells = {
        (rr, ff): (int(counts[(rr - 1) * 5 + ff - 1]), float(sums[(rr - 1) * 5 + ff - 1]))
        for rr in range(1, 6)
        for ff in range(1, 6)
    }
    grid, groups = tabulate(cells, group_map=group_map)
    return RFM(r=r, f=f, m=m, fm=fm, group=group, grid=grid, groups=groups)


def tabulate(
    cells: Mapping[tuple[int, int], tuple[int, float]],
    *,
    group_map: Mapping[tuple[int, int], str] = GROUP_MAP,
) -> tuple[list[GridCell], list[GroupTotal]]:
    """The grid (R = 5..1, FM = 1..5, all 25 cells) and the group totals from the members
    and revenue of each ``(R, FM)`` cell (a cell left out is empty): what ``rfm`` gives, from
    scores already stored."""
    grid = [
        GridCell(
            r=rr,
            fm=ff,
            group=group_map[(rr, ff)],
            members=cells.get((rr, ff), (0, 0.0))[0],
            revenue=float(cells.get((rr, ff), (0, 0.0))[1]),
        )
        for rr in range(5, 0, -1)
        for ff in range(1, 6)
    ]
    total_members = sum(c.members for c in grid)
    total_revenue = sum(c.revenue for c in grid)
    names = list(dict.fromkeys([*GROUPS, *group_map.values()]))
    groups = []
    for name in names:
        members = sum(c.members for c in grid if c.group == name)
        revenue = sum(c.revenue for c in grid if c.group == name)
        groups.append(
            GroupTotal(
                group=name,
                members=members,
                revenue=revenue,
                share_of_members=members / total_members if total_members else 0.0,
                share_of_revenue=revenue / total_revenue if total_revenue else 0.0,
            )
        )
    return grid, groups


@dataclass(frozen=True)
class TopCustomers:
    """How much the best customers weigh."""

    share: float  # the top share asked for (0.1)
    members: int  # in the top
    revenue_share: float  # the top's share of all revenue
    top_mean: float
    rest_mean: float
    times_rest: float  # top_mean / rest_mean (inf when the rest spent nothing)
    member_index: IntArray  # positions (in the input) of the top members, best first


def top_customers(revenue: npt.ArrayLike, *, share: float = 0.1) -> TopCustomers:
    """The top ``share`` of members by revenue: ``ceil(share · n)`` members, best first;
    among equal revenue the earlier input position goes first (a stable sort), so ties at
    the cut are settled by the input's order (pass members sorted by id for a
    reproducible cut). Compares their mean revenue with the rest's."""
    money = as_float(revenue)
    n = len(money)
    if not 0 < share < 1:
        raise ValueError("share must be between 0 and 1")
    if n == 0:
        raise ValueError("no members")
    k = int(np.ceil(share * n - 1e-9))
    order = np.argsort(-money, kind="stable")
    top, rest = money[order[:k]], money[order[k:]]
    total = float(money.sum())
    top_mean = float(top.mean())
    rest_mean = float(rest.mean()) if len(rest) else 0.0
    return TopCustomers(
        share=share,
        members=k,
        revenue_share=float(top.sum()) / total if total else 0.0,
        top_mean=top_mean,
        rest_mean=rest_mean,
        times_rest=top_mean / rest_mean if rest_mean else float("inf"),
        member_index=order[:k].astype(np.int64),
    )
