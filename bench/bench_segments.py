"""What segments cost: the purchase path (batches through
``lojal.activities.bulk.import_purchases``) on a club with no segment and with four live
segments (repeat buyers, lapsed, coffee lovers, top 10 % by spend); then, on the year of
purchases, the preview (one SQL query over every member) of each and a sweep.

    .venv/bin/python -m bench.bench_segments [--purchases 40000] [--members 2000]
                                             [--batch 1000] [--repeat 3]

SQLite, a fresh database per run (one template copied); medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.bench_challenges import YEAR_START, build_template, purchases

SEGMENTS: list[dict[str, Any]] = [
    {
        "code": "repeat",
        "name": "Repeat buyers this quarter",
        "definition": {
            "activity": "purchases",
            "within": {"last_days": 90},
            "measure": "count",
            "op": "gte",
            "value": 2,
        },
    },
    {
        "code": "lapsed",
        "name": "Lapsed",
        "definition": {
            "all": [
                {"activity": "purchases", "measure": "exists"},
                {
                    "not": {
                        "activity": "purchases",
                        "measure": "exists",
                        "within": {"last_days": 60},
                    }
                },
            ]
        },
    },
    {
        "code": "coffee",
        "name": "Coffee, three categories",
        "definition": {
            "all": [
                {
                    "activity": "lines",
                    "measure": "sum",
                    "of": "line.total_minor",
                    "op": "gte",
                    "value": 50_000,
                    "where": {"field": "line.category", "op": "eq", "value": "coffee"},
                },
                {
                    "activity": "lines",
                    "measure": "distinct",
                    "of": "line.category",
                    "op": "gte",
                    "value": 3,
                },
            ]
        },
    },
    {
        "code": "top",
        "name": "Top 10 % by spend",
        "definition": {
            "top": {
                "percent": 10,
                "by": {"activity": "purchases", "measure": "sum", "of": "purchase.total_minor"},
            }
        },
    },
]
NOW = YEAR_START + timedelta(days=366)


def run(template: Path, work: Path, orders: list[Any], batch: int, with_segments: bool) -> float:
    from lojal.activities.batch import ImportState
    from lojal.activities.bulk import import_purchases
    from lojal.db.engine import make_engine
    from lojal.db.session import make_session_factory, transaction
    from lojal.segments import service
    from lojal.segments.schemas import SegmentCreate

    path = work / f"run-{with_segments}.db"
    shutil.copy(template, path)
    engine = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(engine)
    if with_segments:
        with transaction(factory) as session:
            for data in SEGMENTS:
                service.create(session, data=SegmentCreate.model_validate(data), now=NOW)
    state = ImportState()
    started = time.perf_counter()
    for start in range(0, len(orders), batch):
        with transaction(factory) as session:
            import_purchases(session, orders[start : start + batch], NOW, state=state)
    elapsed = time.perf_counter() - started
    if with_segments:
        reads(factory)
    engine.dispose()
    path.unlink()
    return len(orders) / elapsed


def reads(factory: Any) -> None:
    from lojal.db.session import transaction
    from lojal.jobs.service import sweep_segments
    from lojal.segments import queries
    from lojal.segments.definition import parse_definition

    with transaction(factory) as session:
        for data in SEGMENTS:
            definition = parse_definition(data["definition"])
            started = time.perf_counter()
            count, _ = queries.preview(session, definition, now=NOW)
            ms = (time.perf_counter() - started) * 1000
            print(f"  preview {data['code']:>7}: {ms:7.1f} ms ({count} members)")
    started = time.perf_counter()
    done = sweep_segments(factory, now=NOW + timedelta(days=30), everything=True)
    ms = (time.perf_counter() - started) * 1000
    print(
        f"  sweep of {done.segments} segments 30 days on: {ms:.0f} ms "
        f"({done.entered} entered, {done.left} left)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--purchases", type=int, default=40_000)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lojal-bench-segments-") as tmp:
        directory = Path(tmp)
        template = build_template(directory, args.members)
        orders = purchases(args.purchases, args.members)
        results: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeat):
            for with_segments in (False, True):
                rate = run(template, directory, orders, args.batch, with_segments)
                results[with_segments].append(rate)
                label = "4 segments" if with_segments else "no segment"
                print(f"{label:>10}: {rate:8.0f} purchases/s")
    without = statistics.median(results[False])
    with_ = statistics.median(results[True])
    print(
        f"median: no segment {without:.0f}/s, 4 segments {with_:.0f}/s, "
        f"ratio {with_ / without:.2f} ({args.purchases} purchases, batches of {args.batch})"
    )


if __name__ == "__main__":
    main()
