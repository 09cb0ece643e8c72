"""What running challenges cost the purchase path: batches of purchases through
``lojal.activities.bulk.import_purchases`` (the path of every purchase, API and import) on a
club with no challenge, and on the same club with four active challenges (a rolling count, a
distinct-categories quarter, a weekly streak and a coffee spend), side by side.

    .venv/bin/python -m bench.bench_challenges [--purchases 40000] [--members 2000]
                                               [--batch 1000] [--repeat 3]

SQLite, a fresh database per run (one template copied), runs alternating without/with,
medians and the ratio. In-process (no CSV reading): the figure is the batch path itself.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import common

YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
CATEGORIES = ["coffee", "tea", "bakery", "dairy", "produce", "household", "snacks"]
CHALLENGES: list[dict[str, Any]] = [
    {
        "code": "three-in-thirty",
        "name": "3 purchases in 30 days",
        "goal": {"kind": "count", "target": 3},
        "window": {"kind": "rolling", "days": 30},
        "repeatable": True,
        "reward": {"points": 100},
    },
    {
        "code": "explorer",
        "name": "4 categories this quarter",
        "goal": {"kind": "distinct", "field": "line.category", "target": 4},
        "window": {"kind": "calendar", "period": "quarter"},
        "repeatable": True,
        "reward": {"points": 200},
    },
    {
        "code": "weekly",
        "name": "A purchase every week for 4 weeks",
        "goal": {"kind": "streak", "period": "week", "target": 4},
        "repeatable": True,
        "reward": {"points": 50},
    },
    {
        "code": "coffee-spend",
        "name": "500 SEK of coffee",
        "goal": {"kind": "sum", "target": 50_000},
        "when": {"field": "line.category", "op": "eq", "value": "coffee"},
        "reward": {"points": 75},
    },
]


def build_template(directory: Path, members: int) -> Path:
    from lojal.db.engine import make_engine
    from lojal.db.migrate import upgrade
    from lojal.db.session import make_session_factory, transaction
    from lojal.enrolment import enrol
    from lojal.members.schemas import MemberCreate
    from lojal.program import service as program_service

    path = directory / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        program_service.apply(
            session,
            config=program_service.parse(common.PROGRAM_YAML),
            source=None,
            now=YEAR_START,
        )
        for i in range(members):
            enrol(session, data=MemberCreate(email=common.member_email(i)), now=YEAR_START)
    engine.dispose()
    return path


def purchases(n: int, members: int, seed: int = 7) -> list[Any]:
    from lojal.activities.batch import BulkPurchase
    from lojal.activities.events import LineFacts

    rng = random.Random(seed)
    step = timedelta(days=365) / n
    out = []
    for i in range(n):
        lines = tuple(
            LineFacts.of(f"S{rng.randrange(5000)}", rng.randrange(1000, 20000), category=c)
            for c in rng.sample(CATEGORIES, 2)
        )
        out.append(
            BulkPurchase(
                order_id=f"b-{i}",
                email=common.member_email(rng.randrange(members)),
                occurred_at=YEAR_START + step * i,
                lines=lines,
            )
        )
    return out


def run(template: Path, work: Path, orders: list[Any], batch: int, with_challenges: bool) -> float:
    from lojal.challenges import service as challenges
    from lojal.challenges.schemas import ChallengeDefinition
    from lojal.db.engine import make_engine
    from lojal.db.session import make_session_factory, transaction

    path = work / f"run-{with_challenges}.db"
    shutil.copy(template, path)
    engine = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(engine)
    now = YEAR_START + timedelta(days=400)
    if with_challenges:
        with transaction(factory) as session:
            for data in CHALLENGES:
                definition = ChallengeDefinition.model_validate(data)
                challenges.create(session, definition=definition, now=YEAR_START)
                challenges.activate(session, code=definition.code, now=YEAR_START)
    from lojal.activities.batch import ImportState
    from lojal.activities.bulk import import_purchases

    state = ImportState()
    started = time.perf_counter()
    for start in range(0, len(orders), batch):
        with transaction(factory) as session:
            import_purchases(session, orders[start : start + batch], now, state=state)
    elapsed = time.perf_counter() - started
    engine.dispose()
    path.unlink()
    return len(orders) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--purchases", type=int, default=40_000)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lojal-bench-challenges-") as tmp:
        directory = Path(tmp)
        template = build_template(directory, args.members)
        orders = purchases(args.purchases, args.members)
        results: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeat):
            for with_challenges in (False, True):
                rate = run(template, directory, orders, args.batch, with_challenges)
                results[with_challenges].append(rate)
                label = "4 challenges" if with_challenges else "no challenge"
                print(f"{label:>13}: {rate:8.0f} purchases/s")
    without = statistics.median(results[False])
    with_ = statistics.median(results[True])
    print(
        f"median: no challenge {without:.0f}/s, 4 challenges {with_:.0f}/s, "
        f"ratio {with_ / without:.2f} ({args.purchases} purchases, batches of {args.batch})"
    )


if __name__ == "__main__":
    main()
