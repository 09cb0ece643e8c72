"""The CDNOW sample from the project's own data/cdnow (see its PROVENANCE.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np

from lojal.insight.arrays import FloatArray, IntArray
from lojal.insight.summary import Transactions

DATA = Path(__file__).resolve().parents[2] / "data" / "cdnow"
CALIBRATION_END = date(1997, 9, 30)  # 39 weeks from 1997-01-01
HOLDOUT_END = date(1998, 6, 30)  # 39 weeks more


@dataclass(frozen=True)
class Published:
    """The published summary: ``ID,x,t_x,T,zbar``."""

    id: IntArray
    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    zbar: FloatArray


@cache
def published() -> Published:
    path = DATA / "cdnow_customers_summary_with_transactions.csv"
    rows = np.loadtxt(path, delimiter=",", skiprows=1)
    return Published(
        id=rows[:, 0].astype(np.int64), x=rows[:, 1], t_x=rows[:, 2], T=rows[:, 3], zbar=rows[:, 4]
    )


@cache
def sample_purchases() -> tuple[IntArray, IntArray, FloatArray]:
    """``CDNOW_sample.txt``: the sample id, the day (an ordinal) and the dollar value of every
    purchase."""
    rows = np.loadtxt(DATA / "CDNOW_sample.txt")
    stamps = rows[:, 2].astype(np.int64)
    days = np.array(
        [date(int(s) // 10000, int(s) // 100 % 100, int(s) % 100).toordinal() for s in stamps],
        dtype=np.int64,
    )
    return rows[:, 1].astype(np.int64), days, rows[:, 4]


def sample_transactions() -> Transactions:
    return Transactions.collapse(*sample_purchases())
