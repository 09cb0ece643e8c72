"""What a kind of job is to the worker: its handler, how often it is tried, how long it waits
between tries, and what a try can come to.

Two shapes of handler:

* ``IoHandler`` — work with the outside world (an SMTP relay, a webhook receiver, an SMS
  provider). ``handle`` runs outside any transaction for a whole batch of its jobs (reads
  what it needs in a transaction of its own, sends side by side) and returns one outcome per
  job; ``record`` then writes what came of it in the transaction that settles the jobs.
  At least once: a worker killed between a send and its commit sends again after its lease
  runs out, so the receiver must be idempotent (webhooks carry ``webhook-id``; a message's
  job key is its natural id).
* ``DbHandler`` — work on the club's database alone (a journey step, a points grant). ``run``
  runs in the transaction that marks the job done, in a savepoint of its own: the work and its
  ``done`` commit together, so it happens exactly once.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import Clock
from lojal.config import Settings
from lojal.worker import backoff
from lojal.worker.queue import Claimed

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Done:
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again: after ``after`` (a provider's ``Retry-After``), else on the kind's back-off."""

    reason: str
    after: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Defer:
    """Not tried (its channel is slowed down): due again at ``until``, the try given back."""

    until: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Fail:
    """Will never work (a permanent refusal, a disabled endpoint): dead now, with the reason."""

    reason: str


Outcome = Done | Retry | Defer | Fail


@dataclass(frozen=True)
class Context:
    """What handlers are built with."""

    factory: sessionmaker[Session]
    clock: Clock
    settings: Settings = field(default_factory=Settings)


class Handler:
    kind: str = ""
    max_attempts: int = 10

    def backoff(self, attempts: int) -> timedelta:
        return backoff.exponential(attempts)


class IoHandler(Handler):
    def handle(self, jobs: Sequence[Claimed], now: datetime) -> Sequence[Outcome]:
        raise NotImplementedError

    def record(
        self, session: Session, results: Sequence[tuple[Claimed, Outcome]], now: datetime
    ) -> None:
        """Write what the tries came to (delivery status), in the settling transaction."""

    def close(self) -> None:
        """Let go of connections and threads."""


class DbHandler(Handler):
    def run(self, session: Session, job: Claimed, now: datetime) -> Outcome:
        raise NotImplementedError


def side_by_side(
    pool: ThreadPoolExecutor, width: int, fn: Callable[[T], R], items: Sequence[T]
) -> list[R]:
    """``fn`` over ``items`` on ``width`` of the pool's threads, the answers in the items'
    order. Each thread takes the next item when it is free (a slow receiver holds up one
    thread, not a share of the batch), and a batch costs ``width`` tasks, not one per item:
    handing a future to the pool per message cost the worker's main thread more than its
    claim and settle statements together."""
    answers: list[R | None] = [None] * len(items)
    taken = itertools.count()
    lock = threading.Lock()

    failed = threading.Event()

    def run() -> None:
        while not failed.is_set():
            with lock:
                at = next(taken)
            if at >= len(items):
                return
            try:
                answers[at] = fn(items[at])
            except BaseException:
                failed.set()  # the others stop taking items
                raise

    futures = [pool.submit(run) for _ in range(min(width, len(items)))]
    for future in futures:  # all of them finish before an error goes up
        future.exception()
    for future in futures:
        future.result()
    return answers  # type: ignore[return-value]  # every slot was filled above
