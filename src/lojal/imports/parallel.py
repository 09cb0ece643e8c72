"""Importing purchases with several worker processes.

Python runs one thread of Python at a time, so one process cannot use a second core for the
rules and the row building. ``lojal import purchases --workers N`` splits the work by member:

* the main process reads the file, groups the rows of each order (``lojal.imports.grouping``:
  an order whose rows cannot be read, or that repeats an order closed already, is rejected
  there), and sends each order to the
  worker that owns its member (chosen by the order's member id or identity, so one member's
  purchases are always handled by one worker, in file order — first purchase, caps and every
  other per-member rule see the member's history in order);
* each worker parses its orders, computes each batch and writes it in its own transaction,
  and reports what became of every order; the main process writes the summary and the reject
  file (in line order, at the end).

On PostgreSQL the workers' transactions run side by side (each batch locks only its members'
balance rows). SQLite has one writer at a time, so a worker there computes a batch from a read
snapshot *outside* the write lock (``bulk.prepare``), then takes the lock only to check that
what it read still holds and to write (``bulk.apply(verify=True)``); if another writer changed
a fact the batch depends on meanwhile, the batch is computed again under the lock. The
workers' computing overlaps, the lock is held only for writing.

An import stopped at any point and run again still ends with every order exactly once: each
batch commits whole, and orders already recorded are skipped by their order id.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import queue
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from lojal.activities.batch import BatchResult, ImportState
from lojal.activities.bulk import apply, import_purchases, prepare
from lojal.conditions.fields import STORED
from lojal.db.engine import make_engine
from lojal.db.session import make_session_factory, transaction
from lojal.imports.grouping import Rows, groups
from lojal.imports.orders import OrderParser
from lojal.imports.reader import CsvSource, Rejects, Row, Summary
from lojal.program.schemas import ProgramConfig

Progress = Callable[[int, int], None]
ROUTE_FIELDS = ("member_id", "email", "phone", "card_number", "external_id")
PARENT_CHECK_SECONDS = 1.0


def route(raw: list[str], columns: list[tuple[str, int]], workers: int) -> int:
    """The worker of an order: by its member id or first identity, roughly normalised (two
    spellings of one phone number may land on two workers; the check before each write
    keeps that correct, only slower)."""
    width = len(raw)
    for name, i in columns:
        value = raw[i].strip() if i < width else ""
        if not value:
            continue
        if name == "email":
            value = value.lower()
        elif name == "phone":
            value = "".join(ch for ch in value if ch.isdigit())[-9:]
        elif name == "card_number":
            value = "".join(ch for ch in value if ch.isalnum()).upper()
        return zlib.crc32(f"{name}:{value}".encode()) % workers
    return 0


@dataclass
class _Sent:
    orders: list[Rows]


@dataclass
class _Outcome:
    seq: int
    # per order: ("written" | "skipped" | "rejected", index of the bad row, reason)
    orders: list[tuple[str, int, str]]
    written: int
    points: int


@dataclass
class _Collected:
    summary: Summary
    rejected: list[tuple[int, Rows, int, str]] = field(default_factory=list)


def start_server() -> Any:
    """The context that starts the workers, its server started (once per process).

    The workers are forked from a server process, fresh (no threads, no open database), that
    has imported this module and through it all a worker runs (``lojal.imports.preload``):
    each worker starts at once instead of importing lojal again (~1 s of CPU per worker). The
    command starts it first thing, so that its import overlaps the command's own start."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["lojal.imports.preload"])
    multiprocessing.forkserver.ensure_running()
    return context


def run(
    url: str,
    source: CsvSource,
    *,
    config: ProgramConfig,
    now: datetime,
    workers: int,
    rejects_path: Path,
    batch_size: int,
    progress: Progress | None,
    pause: float,
) -> Summary:
    """Import the purchases of ``path`` with ``workers`` processes; see the module docstring."""
    context = start_server()
    # The workers' lifeline: this process holds the only sending end and never sends; when it
    # ends, however it ends, the workers' end reads as closed and they stop. (Their parent is
    # the fork server, which its children keep alive: it cannot tell them.)
    lifeline, holding = context.Pipe(duplex=False)
    inboxes = [context.Queue(maxsize=2) for _ in range(workers)]
    outbox: Any = context.Queue()
    collected = _Collected(Summary(extra={"purchases written": 0, "points": 0}))
    sent: dict[int, _Sent] = {}
    processes: list[Any] = []
    seq = 0
    running = 0

    def start(index: dict[str, int]) -> None:
        nonlocal running
        for inbox in inboxes:
            process = context.Process(
                target=_work,
                args=(
                    url,
                    inbox,
                    outbox,
                    config.model_dump(mode="json"),
                    now,
                    index,
                    pause,
                    lifeline,
                ),
                daemon=True,
            )
            process.start()
            processes.append(process)
        running = len(processes)

    def receive(block: bool) -> None:
        nonlocal running
        waited_after_exit = False
        while running:
            try:
                item = outbox.get(block=block, timeout=PARENT_CHECK_SECONDS if block else None)
            except queue.Empty:
                if not block:
                    return
                # A worker that crashed has a non-zero exit code. One that ended normally
                # (exit code 0) has flushed its last results into the pipe before exiting:
                # they can arrive after this timeout, so wait once more before calling the
                # workers gone.
                if any(p.exitcode not in (None, 0) for p in processes):
                    raise RuntimeError("an import worker stopped unexpectedly") from None
                if all(p.exitcode is not None for p in processes):
                    if waited_after_exit:
                        raise RuntimeError("the import workers ended before finishing") from None
                    waited_after_exit = True
                continue
            if item is None:
                running -= 1
                continue
            if isinstance(item, str):
                raise RuntimeError(f"an import worker failed:\n{item}")
            _collect(item, sent.pop(item.seq), collected)
            if progress:
                progress(source.position, source.size)
            if not block:
                continue
            return

    chunks: list[list[Rows]] = [[] for _ in range(workers)]

    def send(worker: int) -> None:
        nonlocal seq
        chunk = chunks[worker]
        if not chunk:
            return
        seq += 1
        sent[seq] = _Sent(chunk)
        while True:
            try:
                inboxes[worker].put((seq, chunk), timeout=PARENT_CHECK_SECONDS)
                break
            except queue.Full:
                receive(block=False)
                if any(p.exitcode is not None for p in processes):
                    # a worker leaves only after the last chunk (or on a failure)
                    raise RuntimeError("an import worker stopped unexpectedly") from None
        chunks[worker] = []
        receive(block=False)

    try:
        columns: list[tuple[str, int]] = []
        for group in groups(source):
            if group.problem is not None:
                collected.summary.read += len(group.rows)
                collected.summary.rejected += len(group.rows)
                collected.rejected.append((group.rows[0][0], group.rows, *group.problem))
                continue
            if not processes:
                start(source.index)
                columns = [(n, source.index[n]) for n in ROUTE_FIELDS if n in source.index]
            _add(group.rows, chunks, columns, workers, batch_size, send, collected)
        for worker in range(workers):
            send(worker)
        for inbox in inboxes:
            inbox.put(None)
        while running:
            receive(block=True)
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        holding.close()
    rejects = Rejects(rejects_path)
    try:
        for _, rows, bad, reason in sorted(collected.rejected, key=lambda r: r[0]):
            bad_line = rows[bad][0]
            for i, (line, raw) in enumerate(rows):
                rejects.add(
                    Row(line, {}, raw),
                    reason
                    if i == bad
                    else f"order_id: line {bad_line} of this order was rejected ({reason})",
                    source.header,
                )
    finally:
        rejects.close()
    if progress:
        progress(source.size, source.size)
    collected.summary.undecodable = source.undecodable
    return collected.summary


def _add(
    rows: Rows,
    chunks: list[list[Rows]],
    columns: list[tuple[str, int]],
    workers: int,
    batch_size: int,
    send: Callable[[int], None],
    collected: _Collected,
) -> None:
    collected.summary.read += len(rows)
    worker = route(rows[0][1], columns, workers)
    chunks[worker].append(rows)
    if len(chunks[worker]) >= batch_size:
        send(worker)


def _collect(outcome: _Outcome, sent: _Sent, collected: _Collected) -> None:
    summary = collected.summary
    for rows, (status, bad, reason) in zip(sent.orders, outcome.orders, strict=True):
        if status == "written":
            summary.written += len(rows)
        elif status == "skipped":
            summary.skipped += len(rows)
        else:
            summary.rejected += len(rows)
            collected.rejected.append((rows[0][0], rows, bad, reason))
    summary.extra["purchases written"] += outcome.written
    summary.extra["points"] += outcome.points


# ------------------------------------------------------------------ the worker process


def _work(
    url: str,
    inbox: Any,
    outbox: Any,
    config_data: dict[str, Any],
    now: datetime,
    index: dict[str, int],
    pause: float,
    lifeline: Any,
) -> None:
    try:
        engine = make_engine(url)
        factory = make_session_factory(engine)
        config = ProgramConfig.model_validate(config_data, context=STORED)  # as applied
        parser = OrderParser(index, config, now)
        state = ImportState()
        while True:
            try:
                item = inbox.get(timeout=PARENT_CHECK_SECONDS)
            except queue.Empty:
                if lifeline.poll():  # closed: the import was stopped, stop too
                    return
                continue
            if item is None:
                break
            seq, chunk = item
            orders = [parser.order(rows) for rows in chunk]
            good = [(i, o.purchase) for i, o in enumerate(orders) if o.purchase is not None]
            result = _batch(factory, [p for _, p in good], now, config, state, engine)
            statuses: list[tuple[str, int, str]] = []
            for order in orders:
                if order.error is not None:
                    statuses.append(("rejected", order.error[0], order.error[1]))
                else:
                    statuses.append(("written", 0, ""))
            skipped = set(result.skipped_indices)
            bad = {r.index: r for r in result.rejected}
            for j, (i, _) in enumerate(good):
                if j in bad:
                    statuses[i] = ("rejected", 0, f"{bad[j].field}: {bad[j].reason}")
                elif j in skipped:
                    statuses[i] = ("skipped", 0, "")
            outbox.put(_Outcome(seq, statuses, result.written, result.points))
            if pause:
                time.sleep(pause)
        engine.dispose()
        outbox.put(None)
    except BaseException:
        outbox.put(traceback.format_exc())
        raise


def _batch(
    factory: Any,
    purchases: list[Any],
    now: datetime,
    config: ProgramConfig,
    state: ImportState,
    engine: Any,
) -> BatchResult:
    if engine.dialect.name != "sqlite":
        with transaction(factory) as session:
            return import_purchases(session, purchases, now, config=config, state=state)
    with transaction(factory, read_only=True) as session:
        prepared = prepare(session, purchases, now, config=config, state=state)
    try:
        with transaction(factory) as session:
            result = apply(session, prepared, verify=True)
            if result is None:
                raise _Stale
            return result
    except (_Stale, IntegrityError):
        with transaction(factory) as session:
            return import_purchases(session, purchases, now, config=config, state=state)


class _Stale(Exception):
    """What a prepared batch read has changed; it is computed again under the write lock."""
