"""Load test of ``POST /api/v1/purchases`` on one ``lojal serve`` process (SQLite), side by side
with a minimal FastAPI app that inserts one row per request (bench/minimal_app.py).

    .venv/bin/python -m bench.bench_api [--duration 20] [--concurrency 1,8,32] [--repeat 1]
                                        [--members 3000] [--profile]

Everything runs on 127.0.0.1 in a fresh temporary directory. The load generator is ``wrk``
(Debian package ``wrk``), one thread, a separate process; its Lua script (written per run) sends
unique order ids, two lines each, a random member by email, with a till key of store-1 (as that
till sends them), and an ``Idempotency-Key`` header on every second request. wrk is
closed-loop: each connection waits for its answer before it sends the next request, so the
latencies are per-request service times at that concurrency.

For each concurrency level both servers get a warm-up (``--warmup`` seconds, not counted), then
``--repeat`` rounds that alternate lojal / minimal, ``--duration`` seconds each. The report
gives the median over the rounds of requests/s and of the p50/p95/p99 latencies, the errors
(non-2xx answers, socket errors, timeouts) and the ratio lojal/minimal of requests/s.

``--profile`` then samples the lojal server with py-spy (``pip install py-spy``) during one more
run at the middle concurrency level and prints the top inclusive and self costs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import common

LUA = r"""
local members = __MEMBERS__
local tag = "__TAG__"
local key = "__KEY__"
local idem_every = __IDEM__
local categories = {"coffee", "tea", "bakery", "dairy", "produce", "household", "snacks"}
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid)
end

function request()
  counter = counter + 1
  local oid = tag .. "-" .. tid .. "-" .. counter
  local m = math.random(1, members)
  local s1 = math.random(1, 5000)
  local s2 = math.random(1, 5000)
  local body = string.format(
    '{"order_id":"%s","email":"member%d@bench.example","channel":"store","store_id":"store-1",' ..
    '"lines":[{"sku":"SKU-%05d","name":"Article %d","category":"%s","quantity":%d,' ..
    '"unit_price_minor":%d},{"sku":"SKU-%05d","name":"Article %d","category":"%s",' ..
    '"quantity":1,"unit_price_minor":%d}]}',
    oid, m, s1, s1, categories[s1 % 7 + 1], math.random(1, 3),
    math.random(500, 30000), s2, s2, categories[s2 % 7 + 1], math.random(500, 30000))
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. key
  if idem_every > 0 and counter % idem_every == 0 then
    headers["Idempotency-Key"] = "idem-" .. oid
  end
  return wrk.format("POST", "/api/v1/purchases", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean))
end
"""


class Server:
    def __init__(
        self, name: str, argv: list[str], port: int, log: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.port = port
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            argv, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        common.wait_http(port, "/healthz")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


IDEMPOTENCY_EVERY = 2  # an Idempotency-Key on every 2nd request; 0: never (--no-idempotency)


def run_wrk(
    workdir: Path, port: int, *, tag: str, key: str, members: int, connections: int, seconds: float
) -> dict[str, Any]:
    script = workdir / f"{tag}.lua"
    script.write_text(
        LUA.replace("__MEMBERS__", str(members))
        .replace("__TAG__", tag)
        .replace("__KEY__", key)
        .replace("__IDEM__", str(IDEMPOTENCY_EVERY)),
        encoding="utf-8",
    )
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/api/v1/purchases",
    ]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 60)
    match = re.search(r"^WRKJSON (.*)$", out.stdout, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    data: dict[str, Any] = json.loads(match.group(1))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["errors"] = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return data


def profile(
    server: Server, workdir: Path, *, key: str, members: int, connections: int, seconds: int
) -> None:
    pyspy = Path(sys.executable).parent / "py-spy"
    if not pyspy.exists() and not shutil.which("py-spy"):
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return
    out = workdir / "lojal.collapsed"
    spy = subprocess.Popen(
        [
            str(pyspy if pyspy.exists() else "py-spy"),
            "record",
            "-p",
            str(server.proc.pid),
            "-d",
            str(seconds + 2),
            "-r",
            "200",
            "--nonblocking",
            "-f",
            "raw",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1)
    result = run_wrk(
        workdir,
        server.port,
        tag=f"prof{secrets.token_hex(3)}",
        key=key,
        members=members,
        connections=connections,
        seconds=seconds,
    )
    spy.wait(timeout=120)
    print(
        f"\nprofile run (py-spy --nonblocking -r 200): {result['rps']:.0f} req/s at c={connections}"
    )
    if out.exists():
        summarise_profile(out)
        kept = common.ROOT / "bench" / "results"
        kept.mkdir(exist_ok=True)
        shutil.copy(out, kept / "api_profile.collapsed")
        print(f"collapsed stacks kept in {kept / 'api_profile.collapsed'}")
    else:
        print(spy.stderr.read().decode() if spy.stderr else "py-spy wrote nothing")


def _frame_name(frame: str) -> str:
    # "func (path/to/file.py:123)" -> "func (file.py-relative)"
    m = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)
    if not m:
        return frame
    func, path = m.groups()
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{func} ({path})"


def summarise_profile(path: Path, top: int = 30) -> None:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_s)
        frames = [_frame_name(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
    print(f"{total} busy samples (all threads, idle excluded)")
    print(f"\ntop {top} inclusive (share of busy samples):")
    for name, n in inclusive.most_common(top * 3):
        if any(
            skip in name
            for skip in (
                "threading.py",
                "concurrent/futures",
                "_bootstrap",
                "<module>",
                "run (uvicorn",
                "anyio/_backends",
            )
        ):
            continue
        print(f"  {100 * n / total:5.1f}%  {name}")
        top -= 1
        if top == 0:
            break
    print("\ntop 20 self:")
    for name, n in own.most_common(20):
        print(f"  {100 * n / total:5.1f}%  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-seconds", type=int, default=15)
    parser.add_argument("--only", choices=("lojal", "minimal", "min-async"), default=None)
    parser.add_argument(
        "--no-idempotency", action="store_true", help="send no Idempotency-Key headers"
    )
    parser.add_argument(
        "--access-log",
        choices=("on", "off"),
        default="on",
        help="uvicorn's access log, the same for every server (default on, as `lojal serve`)",
    )
    args = parser.parse_args()
    global IDEMPOTENCY_EVERY
    if args.no_idempotency:
        IDEMPOTENCY_EVERY = 0
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")
    levels = [int(c) for c in args.concurrency.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="lojal-bench-api-"))
    lojal_url = f"sqlite:///{workdir / 'lojal.db'}"
    minimal_url = f"sqlite:///{workdir / 'minimal.db'}"
    print(f"machine: {common.machine()}")
    print(f"access log: {args.access_log}")
    print(f"workdir: {workdir}")
    common.make_club(lojal_url, workdir, args.members)
    key = common.create_key(lojal_url, "till", "store-1")
    run_id = secrets.token_hex(3)
    servers: dict[str, Server] = {}
    try:
        if args.only in (None, "lojal"):
            port = common.free_port()
            servers["lojal"] = Server(
                "lojal",
                [
                    common.LOJAL,
                    "serve",
                    "--database-url",
                    lojal_url,
                    "--port",
                    str(port),
                    "--access-log" if args.access_log == "on" else "--no-access-log",
                ],
                port,
                workdir / "lojal.log",
                env=common.UNLIMITED,
            )
        for name, mode in (("minimal", "sync"), ("min-async", "async")):
            if args.only in (None, name):
                port = common.free_port()
                servers[name] = Server(
                    name,
                    [
                        sys.executable,
                        "-m",
                        "bench.minimal_app",
                        f"{minimal_url[:-3]}-{mode}.db",
                        str(port),
                        mode,
                        args.access_log,
                    ],
                    port,
                    workdir / f"{name}.log",
                )
        results: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for c in levels:
            for name, server in servers.items():
                run_wrk(
                    workdir,
                    server.port,
                    tag=f"{run_id}w{c}{name[0]}",
                    key=key,
                    members=args.members,
                    connections=c,
                    seconds=args.warmup,
                )
            for r in range(args.repeat):
                for name, server in servers.items():
                    res = run_wrk(
                        workdir,
                        server.port,
                        tag=f"{run_id}r{c}x{r}{name[0]}",
                        key=key,
                        members=args.members,
                        connections=c,
                        seconds=args.duration,
                    )
                    results.setdefault((name, c), []).append(res)
                    print(
                        f"  c={c:<3} round {r + 1} {name:<9} {res['rps']:8.0f} req/s  "
                        f"p50 {res['p50'] / 1000:6.1f} ms  p99 {res['p99'] / 1000:6.1f} ms  "
                        f"errors {res['errors']}",
                        flush=True,
                    )
        print(
            f"\nmedians over {args.repeat} round(s) of {args.duration} s "
            f"(latency in ms; errors summed)"
        )
        print(f"{'app':<9} {'conc':>4} {'req/s':>8} {'p50':>7} {'p95':>7} {'p99':>7} {'errors':>6}")
        summary: dict[str, Any] = {}
        for c in levels:
            for name in servers:
                runs = results[(name, c)]
                row = {
                    "rps": common.median([x["rps"] for x in runs]),
                    "p50": common.median([x["p50"] for x in runs]) / 1000,
                    "p95": common.median([x["p95"] for x in runs]) / 1000,
                    "p99": common.median([x["p99"] for x in runs]) / 1000,
                    "errors": sum(x["errors"] for x in runs),
                    "requests": sum(x["requests"] for x in runs),
                }
                summary[f"{name}@{c}"] = row
                print(
                    f"{name:<9} {c:>4} {row['rps']:8.0f} {row['p50']:7.1f} {row['p95']:7.1f} "
                    f"{row['p99']:7.1f} {row['errors']:>6}"
                )
            for base in ("minimal", "min-async"):
                if "lojal" in servers and base in servers:
                    ratio = summary[f"lojal@{c}"]["rps"] / summary[f"{base}@{c}"]["rps"]
                    summary[f"ratio-{base}@{c}"] = ratio
                    print(f"{'ratio':<8} {c:>4} {ratio:8.3f}  (lojal / {base} requests/s)")
        results_dir = common.ROOT / "bench" / "results"
        results_dir.mkdir(exist_ok=True)
        (results_dir / "api.json").write_text(
            json.dumps(
                {"machine": common.machine(), "args": vars(args), "summary": summary}, indent=2
            ),
            encoding="utf-8",
        )
        if args.profile and "lojal" in servers:
            mid = levels[len(levels) // 2]
            profile(
                servers["lojal"],
                workdir,
                key=key,
                members=args.members,
                connections=mid,
                seconds=args.profile_seconds,
            )
    finally:
        for server in servers.values():
            server.stop()
        kept = common.ROOT / "bench" / "results"
        kept.mkdir(exist_ok=True)
        for name in servers:
            shutil.copy(workdir / f"{name}.log", kept / f"api-server-{name}.log")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
