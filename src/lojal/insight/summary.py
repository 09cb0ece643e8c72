"""From transactions to the per-member summary the models take (pure: NumPy only).

The input is one row per purchase: the member, the club-local day it happened on (a date
ordinal, ``date.toordinal()``) and its value. Several purchases by one member on one day are
one **transaction** (their values added up), as in the published analyses: a basket split
over two receipts is not a repeat purchase.

For a calibration period that ends with the day ``calibration_end`` (included), a member whose
first transaction is on or before it is summarised by:

* ``x`` — repeat transactions: transactions after the first, up to ``calibration_end``;
* ``t_x`` — time from the first transaction to the last one (0 when ``x = 0``);
* ``T`` — time from the first transaction to the end of ``calibration_end``'s day... counted
  as in the CDNOW data: ``calibration_end − first day`` (a member who first bought on the last
  day has ``T = 0`` and is left out: the models need ``T > 0``);
* ``monetary`` — the mean value of the repeat transactions (0 when ``x = 0``; the first
  transaction is left out, as in Fader & Hardie's Gamma-Gamma analysis);
* ``total`` and ``transactions`` — all value and transactions to ``calibration_end``,
  the first one included (for RFM and the simple CLV).

Times are in units of ``unit_days`` days (7: weeks, as in the CDNOW literature).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from lojal.insight.arrays import FloatArray, IntArray

WEEK = 7.0


@dataclass(frozen=True)
class Transactions:
    """Purchases collapsed to one row per member and day, sorted by member and day."""

    member_id: IntArray
    day: IntArray  # date ordinals
    value: FloatArray

    @classmethod
    def collapse(
        cls, member_ids: npt.ArrayLike, days: npt.ArrayLike, values: npt.ArrayLike
    ) -> Transactions:
        """One transaction per member and day from purchases (any order)."""
        members = np.asarray(member_ids, dtype=np.int64)
        ds = np.asarray(days, dtype=np.int64)
        vs = np.asarray(values, dtype=np.float64)
        if not (len(members) == len(ds) == len(vs)):
            raise ValueError("member_ids, days and values must have the same length")
        if len(members) == 0:
            return cls(members, ds, vs)
        order = np.lexsort((ds, members))
        m, d = members[order], ds[order]
        new = np.ones(len(m), dtype=bool)
        new[1:] = (m[1:] != m[:-1]) | (d[1:] != d[:-1])
        group = np.cumsum(new) - 1
        value = np.bincount(group, weights=vs[order]).astype(np.float64)
        return cls(member_id=m[new], day=d[new], value=value)


@dataclass(frozen=True)
class Summary:
    """Per member, at the end of a calibration period (arrays in member order)."""

    member_id: IntArray
    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    monetary: FloatArray
    total: FloatArray
    transactions: FloatArray
    first_day: IntArray
    last_day: IntArray
    calibration_end: date
    unit_days: float

    def __len__(self) -> int:
        return len(self.member_id)


@dataclass(frozen=True)
class Holdout:
    """What each summarised member did after the calibration period, up to ``end``."""

    purchases: FloatArray  # transactions (member-days) in the holdout period
    value: FloatArray
    end: date
    length: float  # the holdout period in the summary's time unit


def summarise(
    transactions: Transactions,
    *,
    calibration_end: date,
    unit_days: float = WEEK,
    include_new: bool = False,
) -> Summary:
    """The summary of every member with a transaction on or before ``calibration_end`` and
    at least one day of history (``T > 0``; with ``include_new``, the members whose first
    transaction is on ``calibration_end`` itself too, with ``T = 0``: they can be scored,
    not fitted on)."""
    end = calibration_end.toordinal()
    keep = transactions.day <= end
    m, d, v = transactions.member_id[keep], transactions.day[keep], transactions.value[keep]
    if len(m) == 0:
        empty_f = np.zeros(0)
        empty_i = np.zeros(0, dtype=np.int64)
        return Summary(
            empty_i, empty_f, empty_f, empty_f, empty_f, empty_f, empty_f, empty_i, empty_i,
            calibration_end, unit_days,
        )  # fmt: skip
    # rows are sorted by member and day: each member's first row is a new member
    first_row = np.ones(len(m), dtype=bool)
    first_row[1:] = m[1:] != m[:-1]
    starts = np.flatnonzero(first_row)
    ends = np.append(starts[1:], len(m)) - 1
    members = m[starts]
    first_day, last_day = d[starts], d[ends]
    count = (ends - starts + 1).astype(np.float64)
    total = np.add.reduceat(v, starts)
    first_value = v[starts]
    x = count - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(x > 0, (total - first_value) / np.maximum(x, 1), 0.0)
    T_days = (end - first_day).astype(np.float64)
    ok = T_days >= 0 if include_new else T_days > 0
    return Summary(
        member_id=members[ok],
        x=x[ok],
        t_x=((last_day - first_day) / unit_days)[ok],
        T=(T_days / unit_days)[ok],
        monetary=monetary[ok],
        total=total[ok],
        transactions=count[ok],
        first_day=first_day[ok],
        last_day=last_day[ok],
        calibration_end=calibration_end,
        unit_days=unit_days,
    )


def holdout(summary: Summary, transactions: Transactions, *, end: date) -> Holdout:
    """Each summarised member's transactions after the calibration end up to ``end``
    (included)."""
    start, stop = summary.calibration_end.toordinal(), end.toordinal()
    if stop <= start:
        raise ValueError("the holdout period must end after the calibration period")
    inside = (transactions.day > start) & (transactions.day <= stop)
    m, v = transactions.member_id[inside], transactions.value[inside]
    # members are sorted in the summary: find each holdout row's member
    position = np.searchsorted(summary.member_id, m)
    position = np.minimum(position, max(len(summary.member_id) - 1, 0))
    known = summary.member_id[position] == m if len(summary.member_id) else np.zeros(0, bool)
    n = len(summary.member_id)
    purchases = np.bincount(position[known], minlength=n).astype(np.float64)
    value = np.bincount(position[known], weights=v[known], minlength=n).astype(np.float64)
    return Holdout(
        purchases=purchases, value=value, end=end, length=(stop - start) / summary.unit_days
    )
