"""A soak: ``lojal serve`` (one process, SQLite, the defaults a club runs with) under a steady
loopback load for a while — purchases at the till, till lookups, the rewards catalogue and
member reads by the web shop — with its memory sampled as it goes. ``tests/web/test_soak.py`` holds
it to no error and a flat memory curve; ``bench/bench_soak.py`` reports its throughput."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from lojal import enrolment
from lojal.config import DEV_API_KEY_PEPPER
from lojal.db.engine import make_engine
from lojal.db.migrate import upgrade
from lojal.members.schemas import MemberCreate
from lojal.staff import service as staff
from tests.conftest import apply_program

MEMBERS = 500
STORE = "store-1"


@dataclass
class Window:
    """What one sampling window (``every`` seconds) saw."""

    at: float  # seconds since the start
    requests: int
    errors: int
    rss_kib: int


@dataclass
class Soak:
    seconds: float
    windows: list[Window] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # transport errors, first few
    server_output: str = ""

    @property
    def requests(self) -> int:
        return sum(w.requests for w in self.windows)

    @property
    def errors(self) -> int:
        return sum(w.errors for w in self.windows)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _club(url: str) -> tuple[str, str]:
    """A club with the tests' programme and MEMBERS members; a till key and a web shop key."""
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        apply_program(session, now)
        for i in range(MEMBERS):
            enrolment.enrol(
                session,
                data=MemberCreate(email=f"soak{i}@example.se", first_name="Soak", channel="store"),
                now=now,
            )
        _, till = staff.create_key(
            session, name="till", kind="till", store_id=STORE, pepper=DEV_API_KEY_PEPPER, now=now
        )
        _, shop = staff.create_key(
            session, name="shop", kind="integration", pepper=DEV_API_KEY_PEPPER, now=now
        )
        session.commit()
    engine.dispose()
    return till, shop


async def _load(
    port: int, till: str, shop: str, seconds: float, connections: int, every: float, pid: int
) -> Soak:
    soak = Soak(seconds)
    rng = random.Random(7)
    orders = itertools.count(1)
    counted = {"requests": 0, "errors": 0}
    base = f"http://127.0.0.1:{port}/api/v1"
    till_h = {"Authorization": f"Bearer {till}"}
    shop_h = {"Authorization": f"Bearer {shop}"}

    async def one(client: httpx.AsyncClient) -> None:
        m = rng.randrange(MEMBERS)
        pick = rng.random()
        if pick < 0.6:
            body = {
                "order_id": f"soak-{next(orders)}",
                "email": f"soak{m}@example.se",
                "channel": "store",
                "lines": [
                    {
                        "sku": f"sku-{rng.randrange(200)}",
                        "category": "coffee",
                        "quantity": 1,
                        "unit_price_minor": rng.randrange(500, 20_000),
                    },
                    {
                        "sku": f"sku-{rng.randrange(200)}",
                        "category": "bakery",
                        "quantity": 2,
                        "unit_price_minor": rng.randrange(500, 5_000),
                    },
                ],
            }
            r = await client.post(f"{base}/purchases", json=body, headers=till_h)
            ok = r.status_code == 201
        elif pick < 0.8:
            r = await client.get(
                f"{base}/till/members", params={"email": f"soak{m}@example.se"}, headers=till_h
            )
            ok = r.status_code == 200
        elif pick < 0.9:  # the catalogue the till shows
            r = await client.get(f"{base}/rewards", headers=till_h)
            ok = r.status_code == 200
        else:
            r = await client.get(
                f"{base}/members", params={"email": f"soak{m}@example.se"}, headers=shop_h
            )
            ok = r.status_code == 200
        soak.statuses[r.status_code] = soak.statuses.get(r.status_code, 0) + 1
        counted["requests"] += 1
        counted["errors"] += 0 if ok else 1

    start = time.monotonic()
    deadline = start + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            try:
                await one(client)
            except httpx.HTTPError as error:
                counted["requests"] += 1
                counted["errors"] += 1
                if len(soak.failures) < 5:
                    soak.failures.append(repr(error))

    async def sampler() -> None:
        while time.monotonic() < deadline:
            await asyncio.sleep(every)
            soak.windows.append(
                Window(
                    round(time.monotonic() - start, 1),
                    counted["requests"],
                    counted["errors"],
                    _rss_kib(pid),
                )
            )
            counted["requests"] = counted["errors"] = 0

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(sampler(), *(worker(client) for _ in range(connections)))
    return soak


def run(
    seconds: float, *, connections: int = 8, every: float = 5.0, sqlite_cache_mib: int | None = None
) -> Soak:
    """Serve a fresh club and load it for ``seconds``; the server is stopped after.
    ``sqlite_cache_mib``: the server's SQLite page cache per connection (its default, 64 MiB,
    when None) — the cache grows with the database until it is full."""
    workdir = Path(tempfile.mkdtemp(prefix="lojal-soak-"))
    url = f"sqlite:///{workdir / 'club.db'}"
    till, shop = _club(url)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOJAL_")}
    if sqlite_cache_mib is not None:
        env["LOJAL_SQLITE_CACHE_MIB"] = str(sqlite_cache_mib)
    argv = [sys.executable, "-m", "lojal", "serve", "--database-url", url, "--port", str(port)]
    log = (workdir / "server.log").open("w+b")
    server = subprocess.Popen(
        [*argv, "--no-access-log"], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    try:
        _wait_until_up(server, port)
        soak = asyncio.run(_load(port, till, shop, seconds, connections, every, server.pid))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
        log.close()
    soak.server_output = output
    return soak


def _wait_until_up(server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("lojal serve ended before answering")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("lojal serve did not answer within 60 s")
