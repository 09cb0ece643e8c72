"""``side_by_side``: a batch handed to a few threads, answers in order."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lojal.worker.kinds import side_by_side


def test_answers_come_in_the_items_order_from_several_threads() -> None:
    seen: set[str] = set()
    lock = threading.Lock()

    def square(n: int) -> int:
        with lock:
            seen.add(threading.current_thread().name)
        time.sleep(0.001 * (n % 3))  # uneven work: threads finish out of order
        return n * n

    with ThreadPoolExecutor(4) as pool:
        assert side_by_side(pool, 4, square, list(range(50))) == [n * n for n in range(50)]
    assert len(seen) > 1


def test_no_items_no_work() -> None:
    with ThreadPoolExecutor(2) as pool:
        assert side_by_side(pool, 2, lambda n: n, []) == []


def test_an_error_in_one_item_reaches_the_caller() -> None:
    def boom(n: int) -> int:
        if n == 7:
            raise ValueError("seven")
        return n

    with ThreadPoolExecutor(3) as pool, pytest.raises(ValueError, match="seven"):
        side_by_side(pool, 3, boom, list(range(20)))
