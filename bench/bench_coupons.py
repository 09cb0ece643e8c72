"""Coupons: validation latency under a fixed offered load, and generating a million codes.

    .venv/bin/python -m bench.bench_coupons [--rate 500] [--duration 10] [--repeat 3]
                                            [--codes 1000000] [--only validate|generate]

(a) **Validation under load.** A fresh SQLite club (``lojal db upgrade``, ``lojal program
apply``, ``--members`` members), a campaign from ``lojal coupons create`` and ``--pool`` codes
from ``lojal coupons generate``, a ``pos`` key; one ``lojal serve`` process on 127.0.0.1. The
load is *open loop*: request ``i`` is due at ``t0 + i / rate`` whether or not earlier ones have
been answered (wrk is closed loop and wrk2 is not packaged here, so the generator is this
script: asyncio on uvloop, in its own process, over ``--connections`` keep-alive connections;
a request that finds no free connection waits for one, and that wait counts). Latency is
measured from the time a request was *due* to the end of its answer, so a server that falls
behind shows it in the percentiles (no coordinated omission). Each request validates a random
real code of the pool against a two-line basket with the member unknown (a till's typical
call). A warm-up (``--warmup`` s) is not counted; then ``--repeat`` rounds of ``--duration`` s;
the report gives each round and the medians: p50/p95/p99/max in ms, the achieved rate (answers
per second over the round), errors (non-200 answers, socket errors), the server process's CPU
time per request (``/proc/<pid>/stat``: its cost, whatever the latency did), and the CPU time
the hypervisor stole from the machine during the round (a noisy neighbour shows there).

(b) **A million codes.** ``lojal.coupons.codes.generate`` for ``--codes`` codes of 10
characters and a check character, in memory (and the set that proves them unique); then the
same number generated *and stored* as one batch of a campaign in a fresh SQLite database
through ``lojal.coupons.tasks.generate_batch`` (50,000 codes per transaction, repeats and
existing codes skipped by the unique index), timed from the first chunk to the commit of the
last. ``--store-url postgresql://...`` stores into that database instead (migrated here; each
round adds a campaign and its codes).

Results go to ``bench/results/coupons.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import common

CAMPAIGN_YAML = """\
name: Bench campaign
hashtag: bench
discount_kind: percent
percent: 10
min_spend_minor: 5000
uses_per_code: 1
channels: [store, web]
"""


# ------------------------------------------------------------------ (a) validation under load


def request_bytes(port: int, key: str, code: str) -> bytes:
    body = json.dumps(
        {
            "code": code,
            "channel": "store",
            "store_id": "store-1",
            "basket": {
                "currency": "SEK",
                "lines": [
                    {"sku": "SKU-00001", "category": "coffee", "quantity": 2, "amount_minor": 9000},
                    {"sku": "SKU-00002", "category": "bakery", "amount_minor": 3500},
                ],
            },
        },
        separators=(",", ":"),
    ).encode()
    head = (
        f"POST /api/v1/coupons/validate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


async def open_loop(
    port: int, requests: list[bytes], *, rate: float, connections: int
) -> dict[str, Any]:
    """Send ``requests`` at ``rate`` per second on schedule; latency from the due time."""
    # time.perf_counter, not loop.time(): uvloop's clock moves in whole milliseconds
    clock = time.perf_counter
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    done_at = 0.0

    async def one(payload: bytes, due: float) -> None:
        nonlocal errors, done_at
        conn = await pool.get()
        reader, writer = conn
        try:
            writer.write(payload)
            status, body = await read_answer(reader)
            statuses[status] += 1
            if status != 200 or b'"valid":true' not in body:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            writer.close()
            conn = await asyncio.open_connection("127.0.0.1", port)
        finally:
            pool.put_nowait(conn)
        now = clock()
        latencies.append(now - due)
        done_at = max(done_at, now)

    tasks = []
    t0 = clock() + 0.05
    for i, payload in enumerate(requests):
        due = t0 + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(payload, due)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    latencies.sort()

    def pct(p: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    return {
        "requests": len(requests),
        "offered_rps": rate,
        "achieved_rps": len(latencies) / (done_at - t0),
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "max": 1000 * latencies[-1],
        "errors": errors,
        "statuses": dict(statuses),
    }


def run_load(
    port: int, key: str, pool: list[str], *, rate: float, seconds: float, connections: int
) -> dict[str, Any]:
    count = int(rate * seconds)
    requests = [request_bytes(port, key, random.choice(pool)) for _ in range(count)]
    runner: Callable[[Coroutine[Any, Any, dict[str, Any]]], dict[str, Any]]
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        runner = asyncio.run
    # The generator must not stall either: a full collection of this process's heap (the pool
    # of codes, the prepared requests) takes 30-80 ms here, and every request due meanwhile
    # would count it as latency. Freeze what exists and collect nothing during the round (wrk,
    # in C, has no collector; a round allocates little that is cyclic).
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        return runner(open_loop(port, requests, rate=rate, connections=connections))
    finally:
        gc.enable()
        gc.unfreeze()


def bench_validate(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = f"sqlite:///{workdir / 'coupons.db'}"
    common.make_club(url, workdir, args.members)
    spec = workdir / "campaign.yaml"
    spec.write_text(CAMPAIGN_YAML, encoding="utf-8")
    campaign = json.loads(common.cli("coupons", "create", str(spec), url=url))
    out = workdir / "pool.csv"
    common.cli(
        "coupons",
        "generate",
        str(campaign["id"]),
        str(args.pool),
        "--key",
        "pool",
        "--out",
        str(out),
        url=url,
    )
    pool = [line.split(",")[1] for line in out.read_text().splitlines()[1:]]  # the display form
    key = common.create_key(url, "till")
    kept = common.ROOT / "bench" / "results"
    kept.mkdir(exist_ok=True)
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    commands = {"lojal": [common.LOJAL, "serve", "--database-url", url]}
    if args.floor:
        commands["floor"] = [sys.executable, "-m", "bench.minimal_app", url]
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
    try:
        for name, argv in commands.items():
            port = common.free_port()
            log = (workdir / f"server-{name}.log").open("wb")
            full = (
                [*argv, "--port", str(port)]
                if name == "lojal"
                else [*argv, str(port), "validate", "on"]
            )
            servers[name] = (
                subprocess.Popen(
                    full,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=common.ROOT,
                    env={**os.environ, **common.UNLIMITED},
                ),
                port,
            )
            log.close()
        for name, (_, port) in servers.items():
            common.wait_http(port, "/healthz" if name == "lojal" else "/docs")
            run_load(
                port, key, pool, rate=args.rate, seconds=args.warmup, connections=args.connections
            )
        for r in range(args.repeat):
            for name, (server, port) in servers.items():
                before = common.cpu_counters()
                cpu = common.process_cpu_seconds(server.pid)
                res = run_load(
                    port,
                    key,
                    pool,
                    rate=args.rate,
                    seconds=args.duration,
                    connections=args.connections,
                )
                res["steal_pct"] = common.steal_since(before)
                res["server_cpu_ms"] = (
                    1000 * (common.process_cpu_seconds(server.pid) - cpu) / res["requests"]
                )
                rounds[name].append(res)
                print(
                    f"  round {r + 1} {name:<6} offered {res['offered_rps']:.0f}/s achieved "
                    f"{res['achieved_rps']:6.1f}/s  p50 {res['p50']:5.2f} ms  "
                    f"p95 {res['p95']:5.2f} ms  p99 {res['p99']:6.2f} ms  "
                    f"max {res['max']:6.1f} ms  errors {res['errors']}  "
                    f"server CPU {res['server_cpu_ms']:.2f} ms/request  "
                    f"steal {res['steal_pct']:4.1f} %",
                    flush=True,
                )
    finally:
        for server, _ in servers.values():
            server.send_signal(signal.SIGINT)
        for server, _ in servers.values():
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        for name in servers:
            shutil.copy(workdir / f"server-{name}.log", kept / f"coupons-server-{name}.log")
    medians: dict[str, dict[str, float]] = {}
    for name, results in rounds.items():
        summary = {
            field: common.median([x[field] for x in results])
            for field in ("achieved_rps", "p50", "p95", "p99", "max", "server_cpu_ms", "steal_pct")
        }
        summary["errors"] = sum(x["errors"] for x in results)
        medians[name] = summary
        print(
            f"{name}: validation at {args.rate:.0f} requests/s offered, median of {args.repeat} x "
            f"{args.duration:.0f} s: achieved {summary['achieved_rps']:.1f}/s, "
            f"p50 {summary['p50']:.2f} ms, p95 {summary['p95']:.2f} ms, "
            f"p99 {summary['p99']:.2f} ms"
            + (" (target ≤ 10 ms)" if name == "lojal" else "")
            + f", errors {summary['errors']}, server CPU {summary['server_cpu_ms']:.2f} ms/request"
        )
    if "floor" in medians:
        print(
            "ratio lojal / floor: p50 "
            f"{medians['lojal']['p50'] / medians['floor']['p50']:.2f}, p99 "
            f"{medians['lojal']['p99'] / medians['floor']['p99']:.2f}, server CPU per request "
            f"{medians['lojal']['server_cpu_ms'] / medians['floor']['server_cpu_ms']:.2f}"
        )
    return {"rounds": rounds, "median": medians["lojal"], "medians": medians}


# ------------------------------------------------------------------ (b) a million codes


def bench_generate(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from lojal.coupons import codes, service, tasks
    from lojal.coupons.schemas import CampaignCreate
    from lojal.db.engine import make_engine
    from lojal.db.migrate import upgrade
    from lojal.db.session import make_session_factory, transaction

    memory: list[float] = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        made = codes.generate(args.codes, length=10, check=True)
        t1 = time.perf_counter()
        unique = len(set(made))
        t2 = time.perf_counter()
        memory.append(t2 - t0)
        print(
            f"  in memory: {args.codes:,} codes in {t1 - t0:.2f} s, "
            f"+ set of {unique:,} unique in {t2 - t1:.2f} s",
            flush=True,
        )
        del made
    stored: list[float] = []
    for r in range(args.repeat):
        url = args.store_url or f"sqlite:///{workdir / f'codes-{r}.db'}"
        engine = make_engine(url)
        try:
            upgrade(engine)
            factory = make_session_factory(engine)
            now = datetime.now(UTC)
            with transaction(factory) as session:
                campaign = service.create_campaign(
                    session,
                    data=CampaignCreate(
                        name=f"million-{r}", discount_kind="amount", amount_minor=1000
                    ),
                    now=now,
                )
            t0 = time.perf_counter()
            batch = tasks.generate_batch(
                factory, campaign_id=campaign.id, key=f"m{r}", count=args.codes, now=now
            )
            elapsed = time.perf_counter() - t0
            assert batch.generated == args.codes
            stored.append(elapsed)
            print(
                f"  generated and stored ({engine.dialect.name}): {batch.generated:,} codes "
                f"in {elapsed:.2f} s",
                flush=True,
            )
        finally:
            engine.dispose()
    summary = {"memory_s": common.median(memory), "stored_s": common.median(stored)}
    print(
        f"{args.codes:,} codes, median of {args.repeat}: in memory {summary['memory_s']:.2f} s, "
        f"generated and stored {summary['stored_s']:.2f} s (target ≤ 10 s)"
    )
    return {"memory_s": memory, "stored_s": stored, "median": summary}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=50_000, help="codes to validate from")
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--store-url", default=None, help="store the codes here, not in SQLite")
    parser.add_argument("--only", choices=("validate", "generate"), default=None)
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="do not run the framework floor (bench/minimal_app.py validate) side by side",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="lojal-bench-coupons-"))
    print(f"machine: {common.machine()}")
    results: dict[str, Any] = {"machine": common.machine(), "args": vars(args)}
    try:
        if args.only in (None, "validate"):
            print("(a) validation under load", flush=True)
            results["validate"] = bench_validate(args, workdir)
        if args.only in (None, "generate"):
            print("(b) generating codes", flush=True)
            results["generate"] = bench_generate(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    kept = common.ROOT / "bench" / "results"
    kept.mkdir(exist_ok=True)
    (kept / "coupons.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
