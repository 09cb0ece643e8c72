"""Enrolling members through the service, the path of ``POST /members`` and ``lojal import
members``: ``lojal.enrolment.enrol`` in a loop, ``--batch`` members per transaction, on a
fresh SQLite club with the programme of ``bench/common.py``.

    .venv/bin/python -m bench.bench_enrol [--members 5000] [--batch 1000] [--repeat 3]

Prints members/s per round (a fresh database each) and the median.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import common


def one_round(directory: Path, members: int, batch: int) -> float:
    from lojal.db.engine import make_engine
    from lojal.db.migrate import upgrade
    from lojal.db.session import make_session_factory, transaction
    from lojal.enrolment import enrol
    from lojal.members.schemas import MemberCreate
    from lojal.program import service as program_service

    engine = make_engine(f"sqlite:///{directory / 'enrol.db'}")
    upgrade(engine)
    factory = make_session_factory(engine)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    with transaction(factory) as session:
        config = program_service.parse(common.PROGRAM_YAML)
        program_service.apply(session, config=config, source=None, now=now)
    started = time.perf_counter()
    for start in range(0, members, batch):
        with transaction(factory) as session:
            for i in range(start, min(start + batch, members)):
                enrol(session, data=MemberCreate(email=common.member_email(i + 1)), now=now)
    rate = members / (time.perf_counter() - started)
    engine.dispose()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    rates = []
    for r in range(args.repeat):
        directory = Path(tempfile.mkdtemp(prefix="lojal-bench-enrol-"))
        try:
            rate = one_round(directory, args.members, args.batch)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        rates.append(rate)
        print(f"  round {r + 1}: {rate:.0f} members/s", flush=True)
    print(
        f"median: {common.median(rates):.0f} members/s "
        f"({args.members} members, batches of {args.batch})"
    )


if __name__ == "__main__":
    main()
