"""The rows of one order, found in a file that is streamed.

An order is one or more rows with the same ``order_id``. They need not be consecutive: an
export sorted by time often interleaves the lines of two tills' orders. The rows of one order
are grouped when each lies at most ``WINDOW`` lines after the order's previous row; an order
is closed (parsed and written) once the file has moved ``WINDOW`` lines past its last row. So
only the rows of the last ``WINDOW`` lines are held, however long the file.

A row of an order that was closed already (more than ``WINDOW`` lines after the order's
previous row) is rejected with a reason naming the line the order began on: grouping it
would mean holding every order to the end of the file, and writing it as a purchase of its own
would record half an order. Which orders were closed is kept in a private temporary SQLite file
(``SeenOrders``), not in memory, so memory stays flat with the file's size.

A row that could not be read (``CsvSource.problems``) travels with its order: the whole order
is rejected, with that row's reason.
"""

from __future__ import annotations

import sqlite3
import sys
from collections import OrderedDict
from collections.abc import Iterator
from typing import NamedTuple

from lojal.imports.reader import CsvSource

WINDOW = 10_000  # lines
CHECK_EVERY = 1_000  # closed orders looked up in SeenOrders at a time
Rows = list[tuple[int, list[str]]]  # one order: (line number, columns) of each row


class Group(NamedTuple):
    """The rows of one order, and the first reason found before parsing that it cannot be
    imported: ``(index of the row, reason)``."""

    rows: Rows
    problem: tuple[int, str] | None


def groups(source: CsvSource, *, window: int | None = None) -> Iterator[Group]:
    """The orders of ``source``, each once its last row is ``window`` (default ``WINDOW``)
    lines behind."""
    window = window or WINDOW
    open_: OrderedDict[str, Rows] = OrderedDict()  # by the line of their last row
    closed: list[tuple[str, Rows]] = []
    current: Rows | None = None
    current_id = ""
    column = -1
    seen = SeenOrders(source.problems, window)
    try:
        for line, raw in source.records():
            if column < 0:
                column = source.index.get("order_id", sys.maxsize)
            order_id = raw[column].strip() if column < len(raw) else ""
            if order_id == current_id and current is not None:
                current.append((line, raw))
                continue
            behind = line - window
            while open_:
                oldest = next(iter(open_))
                if open_[oldest][-1][0] >= behind:
                    break
                closed.append(open_.popitem(last=False))
            if not order_id:  # an order of its own (refused for its missing order id)
                closed.append(("", [(line, raw)]))
                current = None
            elif (rows := open_.get(order_id)) is None:
                open_[order_id] = current = [(line, raw)]
                current_id = order_id
            else:
                rows.append((line, raw))
                open_.move_to_end(order_id)
                current, current_id = rows, order_id
            if len(closed) >= CHECK_EVERY:
                yield from seen.check(closed)
                closed = []
        closed.extend(open_.items())
        yield from seen.check(closed)
    finally:
        seen.close()


class SeenOrders:
    """The order ids closed so far in this import, with the line each began on, in a private
    temporary SQLite database (an empty file name: deleted when closed; its pages beyond a
    small cache go to disk)."""

    def __init__(self, problems: dict[int, str], window: int) -> None:
        self.problems = problems
        self.window = window
        self.db = sqlite3.connect("")
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("PRAGMA cache_size = -4096")  # KiB
        self.db.execute("CREATE TABLE seen (order_id TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")

    def check(self, closed: list[tuple[str, Rows]]) -> list[Group]:
        """The orders ``closed``, in order, each with the first reason it cannot be imported
        found so far: a row that could not be read, or an id closed before (earlier in this
        list or in an earlier one). The new ids are remembered."""
        firsts = [(order_id, rows[0][0]) for order_id, rows in closed if order_id]
        before = self.db.total_changes
        with self.db:  # one transaction
            self.db.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?)", firsts)
        began: dict[str, int] = {}
        if self.db.total_changes - before < len(firsts):  # some were there: which?
            ids = list({order_id for order_id, _ in firsts})
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                began.update(
                    self.db.execute(
                        f"SELECT order_id, line FROM seen WHERE order_id IN ({marks})", chunk
                    )
                )
        problems = self.problems
        out: list[Group] = []
        for order_id, rows in closed:
            problem: tuple[int, str] | None = None
            if problems:
                for i, (line, _) in enumerate(rows):
                    reason = problems.pop(line, None)
                    if reason is not None and problem is None:
                        problem = (i, reason)
            if began and problem is None and began.get(order_id, rows[0][0]) != rows[0][0]:
                problem = (
                    0,
                    f"order_id: order {order_id!r} began on line {began[order_id]}, and this "
                    f"row is more than {self.window} lines after the order's previous row, too "
                    "far to be grouped with it (put the rows of an order together)",
                )
            out.append(Group(rows, problem))
        return out

    def close(self) -> None:
        self.db.close()
