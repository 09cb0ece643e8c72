"""Recommendations at club size: the refit's item model and members' offers.

    .venv/bin/python -m bench.bench_recommend                      # 100,000 members
    .venv/bin/python -m bench.bench_recommend --members 20000 --items 500

Synthetic baskets (NumPy, seeded): each member makes a Poisson number of visits (mean 10) over a
year and buys 1-4 items a visit, 60 % from a few favourites of their own and the rest from a
catalogue whose popularity falls off as 1/rank. Timed: ``fit`` (the item model the refit
stores: counts, repeat rates, intervals, pairs with lift and cosine), and ``next_best`` for
1,000 members (what one member's offer costs once their baskets and the stored figures are
read).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.common import machine
from lojal.insight.recommend import Baskets, Options, fit, next_best


def baskets(members: int, items: int, seed: int) -> Baskets:
    rng = np.random.default_rng(seed)
    popularity = 1 / np.arange(1, items + 1)
    popularity /= popularity.sum()
    favourites = rng.choice(items, size=(members, 3), p=popularity)
    visits = rng.poisson(10, members) + 1
    member = np.repeat(np.arange(members), visits)
    day = rng.integers(0, 365, len(member))
    per_visit = rng.integers(1, 5, len(member))
    rows_member = np.repeat(member, per_visit)
    rows_day = np.repeat(day, per_visit)
    habit = rng.random(len(rows_member)) < 0.6
    item = np.where(
        habit,
        favourites[rows_member, rng.integers(0, 3, len(rows_member))],
        rng.choice(items, size=len(rows_member), p=popularity),
    )
    names = tuple(f"sku-{i:05d}" for i in range(items))
    return Baskets.of(rows_member.tolist(), rows_day.tolist(), [names[i] for i in item.tolist()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(machine())
    start = time.perf_counter()
    data = baskets(args.members, args.items, args.seed)
    print(f"{len(data):,} rows (member, day, item) made in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    model = fit(data, Options())
    took = time.perf_counter() - start
    pairs = model.together.nnz
    print(f"fit: {took:.2f} s ({len(model.items):,} items, {pairs:,} pairs kept)")
    starts = np.searchsorted(data.member, np.arange(1000), side="left")
    ends = np.searchsorted(data.member, np.arange(1000), side="right")
    start = time.perf_counter()
    for s, e in zip(starts, ends, strict=True):
        next_best(data.day[s:e], data.item[s:e], as_of=365, model=model)
    per_member = (time.perf_counter() - start) / 1000
    print(f"next_best: {per_member * 1000:.2f} ms a member")


if __name__ == "__main__":
    main()
