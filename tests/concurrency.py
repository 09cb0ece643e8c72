"""Threads released at the same moment, for the race tests on both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def run_together(threads: int, work: Callable[[int], Any], timeout: float = 180) -> list[Any]:
    """Run ``work(i)`` for i in range(threads), each in its own thread, all released at once by
    a barrier; return each result, or the exception it raised."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def runner(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    started = [threading.Thread(target=runner, args=(i,)) for i in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in started)
    return results
