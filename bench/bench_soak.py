"""Five minutes of steady loopback load on one ``lojal serve`` process (SQLite), sampled in
windows: throughput, errors and the server's memory over time (``tests/soak.py``; the test
``tests/web/test_soak.py`` holds the same run to no error and flat memory).

    .venv/bin/python -m bench.bench_soak [--seconds 300] [--connections 8] [--every 15]

The load: 60 % purchases at the till (two lines, a member by email), 20 % till lookups by
email, 10 % the rewards catalogue, 10 % the web shop's member search; httpx from one Python
process with ``--connections`` keep-alive connections (closed loop), on the same 2 cores.
"""

from __future__ import annotations

import argparse
import statistics

from tests import soak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--every", type=float, default=15)
    parser.add_argument("--sqlite-cache-mib", type=int, default=None)
    args = parser.parse_args()
    done = soak.run(
        args.seconds,
        connections=args.connections,
        every=args.every,
        sqlite_cache_mib=args.sqlite_cache_mib,
    )
    print(f"{'t (s)':>7} {'req/s':>7} {'errors':>6} {'RSS MiB':>8}")
    for w in done.windows:
        print(f"{w.at:7.0f} {w.requests / args.every:7.0f} {w.errors:6d} {w.rss_kib / 1024:8.1f}")
    rates = [w.requests / args.every for w in done.windows]
    print(
        f"total {done.requests} requests, {done.errors} errors, statuses {done.statuses}; "
        f"req/s median {statistics.median(rates):.0f} (min {min(rates):.0f}, max "
        f"{max(rates):.0f}); RSS {done.windows[0].rss_kib / 1024:.1f} → "
        f"{done.windows[-1].rss_kib / 1024:.1f} MiB"
    )


if __name__ == "__main__":
    main()
