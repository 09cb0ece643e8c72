"""The server under a steady loopback load for five minutes (``LOJAL_TEST_SOAK_SECONDS``
shortens it for a local run): every answer is the expected one, no request fails, and the
server's memory stays flat — what it holds after the first minute it still holds at the end.
SQLite's page cache grows with the database until it is full (64 MiB a connection by default:
longer than this run), so the server runs with 2 MiB, full within seconds; what grows after
that is the server's own."""

from __future__ import annotations

import os
import statistics

from tests import soak

SECONDS = float(os.environ.get("LOJAL_TEST_SOAK_SECONDS", "300"))
# How much more the server may hold at the end than after its warm-up (KiB): the allocator's
# settling. A leak of ~300 bytes a purchase (some 30,000 after the warm-up) fails it.
GROWTH_KIB = 8 * 1024


def test_the_server_holds_a_steady_load_with_no_error_and_flat_memory() -> None:
    done = soak.run(SECONDS, connections=8, every=SECONDS / 20, sqlite_cache_mib=2)
    assert done.failures == [], done.failures
    assert done.errors == 0, (done.statuses, done.server_output[-2000:])
    assert "Traceback" not in done.server_output
    assert done.requests > 0
    assert all(w.requests > 0 for w in done.windows), done.windows  # it never stalled
    # after the warm-up (the first fifth) against the last fifth
    fifth = max(1, len(done.windows) // 5)
    settled = statistics.median(w.rss_kib for w in done.windows[fifth : 2 * fifth])
    last = statistics.median(w.rss_kib for w in done.windows[-fifth:])
    assert last - settled <= GROWTH_KIB, [w.rss_kib for w in done.windows]
