"""When a failed job runs again (pure).

* ``exponential``: ``base · 2^(n−1)``, capped, with "equal jitter" — a random point in the
  upper half of the step — so that jobs that failed together do not come back together.
* ``STANDARD_WEBHOOKS``: the schedule the Standard Webhooks guidance gives (and Svix uses):
  at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h — eight tries over about
  27 hours — with ±10 % jitter.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import timedelta

Backoff = Callable[[int], timedelta]

STANDARD_WEBHOOKS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)


def exponential(
    attempts: int,
    *,
    base: timedelta = timedelta(seconds=2),
    cap: timedelta = timedelta(hours=1),
    rng: random.Random | None = None,
) -> timedelta:
    """The wait after the ``attempts``-th failed try (1 = the first)."""
    step = min(cap.total_seconds(), base.total_seconds() * 2 ** max(attempts - 1, 0))
    r = (rng or random).uniform(0.5, 1.0)
    return timedelta(seconds=step * r)


def scheduled(
    attempts: int, schedule: Sequence[timedelta], *, rng: random.Random | None = None
) -> timedelta:
    """The wait after the ``attempts``-th failed try on a fixed schedule (its last step
    repeats), ±10 %."""
    step = schedule[min(max(attempts - 1, 0), len(schedule) - 1)]
    return step * (rng or random).uniform(0.9, 1.1)


def standard_webhooks(attempts: int) -> timedelta:
    return scheduled(attempts, STANDARD_WEBHOOKS)
