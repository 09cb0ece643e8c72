"""Shared helpers for the benchmarks: a fresh club (schema, programme, members, API key), the
machine description, and small statistics. Nothing here is imported by lojal itself."""

from __future__ import annotations

import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
LOJAL = str(VENV_BIN / "lojal")
# A load test sends far more than a caller's quota from one key and one address: the limits
# still run on every request (their cost is measured) but never refuse.
UNLIMITED = {
    "LOJAL_RATE_LIMIT_PER_KEY": str(10**12),
    "LOJAL_RATE_LIMIT_PER_ADDRESS": str(10**12),
}

# The programme every benchmark club runs: a base rate, a category multiplier, a capped
# minimum-spend bonus and a first-purchase bonus, so that the rule engine, the caps' usage
# lookups and the ledger all do their work on each purchase.
PROGRAM_YAML = """\
name: Benchklubben
currency: SEK
timezone: Europe/Stockholm
phone_region: SE
point_name: points
pending_days: 14
expiry:
  months: 12
  round_to_month_end: true
multiplier_stacking: multiply
rules:
  - id: base
    kind: base
    points: 1
  - id: coffee-double
    kind: multiplier
    factor: 2
    when: {field: line.category, op: in, value: [coffee, tea]}
  - id: big-basket
    kind: bonus
    points: 50
    when: {field: purchase.total_minor, op: gte, value: 50000}
    cap: {points: 200, period: month}
  - id: welcome
    kind: first_purchase
    points: 100
"""


def member_email(i: int) -> str:
    return f"member{i}@bench.example"


def cli(*args: str, url: str) -> str:
    env = {**os.environ, "LOJAL_DATABASE_URL": url}
    done = subprocess.run([LOJAL, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"lojal {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def make_club(url: str, workdir: Path, members: int, *, log: bool = True) -> None:
    """Schema, programme and ``members`` members (``member{i}@bench.example``, i from 1)."""
    t0 = time.perf_counter()
    cli("db", "upgrade", url=url)
    program = workdir / "club.yaml"
    program.write_text(PROGRAM_YAML, encoding="utf-8")
    cli("program", "apply", str(program), url=url)
    enrol_members(url, members)
    if log:
        print(
            f"  club ready: {members} members in {time.perf_counter() - t0:.1f} s", file=sys.stderr
        )


def enrol_members(url: str, count: int, batch: int = 2000) -> None:
    from lojal import enrolment
    from lojal.db.engine import make_engine
    from lojal.db.session import make_session_factory, transaction
    from lojal.members.schemas import MemberCreate

    engine = make_engine(url)
    factory = make_session_factory(engine)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    try:
        for lo in range(1, count + 1, batch):
            with transaction(factory) as session:
                for i in range(lo, min(lo + batch, count + 1)):
                    data = MemberCreate(
                        channel="store",
                        email=member_email(i),
                        first_name="Bench",
                        last_name=f"M{i}",
                    )
                    enrolment.enrol(session, data=data, now=start + timedelta(seconds=i))
    finally:
        engine.dispose()


def create_key(url: str, kind: str = "till", store: str | None = "store-1") -> str:
    """A key of ``kind`` (a till of ``store``)."""
    where = ("--store", store) if kind == "till" and store else ()
    out = cli("keys", "add", "bench", "--kind", kind, *where, url=url)
    return out.strip().splitlines()[-1].strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, path: str = "/", timeout: float = 30.0) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port} within {timeout} s")


def machine() -> dict[str, str]:
    info: dict[str, str] = {
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    try:
        for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=False
        ).stdout.splitlines():
            if line.startswith("Model name:"):
                info["cpu"] = line.split(":", 1)[1].strip()
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["ram"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return info


def cpu_counters() -> tuple[int, int]:
    """(all, stolen) CPU time of the machine so far, in clock ticks (``/proc/stat``): the
    hypervisor's *steal* is time this VM wanted to run and was not let to."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0, 0
    ticks = [int(x) for x in fields[:8]]
    return sum(ticks), ticks[7]


def steal_since(before: tuple[int, int]) -> float:
    """The share of CPU time stolen since ``before`` (``cpu_counters()``), in percent."""
    total, stolen = cpu_counters()
    spent = total - before[0]
    return 100 * (stolen - before[1]) / spent if spent > 0 else 0.0


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far, from
    ``/proc/<pid>/stat``."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = text.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
