"""Array types and the grouping the models share (pure: NumPy only).

The models' likelihoods are sums over members, and members repeat: thousands share the same
``(x, t_x, T)`` (counts and days are whole numbers). ``group_rows`` finds the distinct rows
and how many members each stands for, so a fit evaluates each distinct row once; the
expensive special functions are evaluated on the even fewer distinct values of one column or
pair of columns (``factorize``) and gathered back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]


def as_float(values: npt.ArrayLike) -> FloatArray:
    """``values`` as a one-dimensional float64 array (a scalar becomes one element)."""
    return np.atleast_1d(np.asarray(values, dtype=np.float64))


def factorize(*columns: FloatArray) -> tuple[list[FloatArray], IntArray]:
    """The distinct rows of ``columns`` (one array per column, each sorted as its row) and
    for every input row the index of its distinct row."""
    n = len(columns[0])
    if n == 0:
        return [c[:0] for c in columns], np.zeros(0, dtype=np.int64)
    order = np.lexsort(columns[::-1])
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for column in columns:
        ordered = column[order]
        new[1:] |= ordered[1:] != ordered[:-1]
    group_of_sorted = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group_of_sorted
    firsts = order[new]
    return [c[firsts] for c in columns], inverse


@dataclass(frozen=True)
class Rows:
    """Distinct ``(x, t_x, T)`` rows and the total weight (members) of each."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    weight: FloatArray

    @property
    def members(self) -> float:
        return float(self.weight.sum())


def group_rows(
    x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> Rows:
    """The distinct rows of a customer summary with their weights (``weights`` default to
    one per member). Checks what every model assumes: ``x ≥ 0``, ``0 ≤ t_x ≤ T``, ``T > 0``
    and ``t_x = 0`` when ``x = 0``."""
    xs, ts, Ts = as_float(x), as_float(t_x), as_float(T)
    if not (len(xs) == len(ts) == len(Ts)):
        raise ValueError("x, t_x and T must have the same length")
    w = np.ones(len(xs)) if weights is None else as_float(weights)
    if len(w) != len(xs):
        raise ValueError("weights must have the length of x")
    check_summary(xs, ts, Ts)
    (ux, ut, uT), inverse = factorize(xs, ts, Ts)
    weight = np.bincount(inverse, weights=w, minlength=len(ux)).astype(np.float64)
    return Rows(x=ux, t_x=ut, T=uT, weight=weight)


def check_summary(x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
    if len(x) == 0:
        raise ValueError("no members to fit")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("x (repeat purchases) must be whole numbers ≥ 0")
    if np.any(T <= 0):
        raise ValueError("T (time since the first purchase) must be > 0")
    if np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("t_x (time of the last purchase) must be between 0 and T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("t_x must be 0 for a member without repeat purchases")
