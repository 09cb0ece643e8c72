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
from dataclasses import dataclass

from lojal.imports.reader import CsvSource

WINDOW = 10_000  # lines
CHECK_EVERY = 1_000  # closed orders looked up in SeenOrders at a time
Rows = list[tuple[int, list[str]]]  # one order: (line number, columns) of each row


@dataclass(slots=True)
class Group:
    """The rows of one order, and the first reason found before parsing that it cannot be
    imported: ``(index of the row, reason)``."""

    order_id: str
    rows: Rows
    problem: tuple[int, str] | None = None


def groups(source: CsvSource, *, window: int | None = None) -> Iterator[Group]:
    """The orders of ``source``, each once its last row is ``window`` (default ``WINDOW``)
    lines behind."""
    window = window or WINDOW
    problems = source.problems
    open_: OrderedDict[str, Rows] = OrderedDict()  # by the line of their last row
    closed: list[Group] = []
    current: Rows | None = None
    current_id = ""
    column = -1
    seen = SeenOrders()

    def close(order_id: str, rows: Rows) -> None:
        group = Group(order_id, rows)
        if problems:
            for i, (line, _) in enumerate(rows):
                reason = problems.pop(line, None)
                if reason is not None and group.problem is None:
                    group.problem = (i, reason)
        closed.append(group)

    try:
        for line, raw in source.records():
            if column < 0:
                column = source.index.get("order_id", sys.maxsize)
            order_id = raw[column].strip() if column < len(raw) else ""
            if current is not None and order_id == current_id:
                current.append((line, raw))
                continue
            behind = line - window
            while open_:
                oldest = next(iter(open_))
                if open_[oldest][-1][0] >= behind:
                    break
                close(*open_.popitem(last=False))
            if not order_id:  # an order of its own (refused for its missing order id)
                close("", [(line, raw)])
                current = None
            else:
                rows = open_.get(order_id)
                if rows is None:
                    open_[order_id] = rows = [(line, raw)]
                else:
                    rows.append((line, raw))
                    open_.move_to_end(order_id)
                current, current_id = rows, order_id
            if len(closed) >= CHECK_EVERY:
                yield from seen.check(closed, window)
                closed = []
        while open_:
            close(*open_.popitem(last=False))
        yield from seen.check(closed, window)
    finally:
        seen.close()


class SeenOrders:
    """The order ids closed so far in this import, with the line each began on, in a private
    temporary SQLite database (an empty file name: deleted when closed; its pages beyond a
    small cache go to disk)."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("", isolation_level=None)
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("PRAGMA cache_size = -4096")  # KiB
        self.db.execute("CREATE TABLE seen (order_id TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")

    def check(self, closed: list[Group], window: int) -> list[Group]:
        """``closed``, in order, with each order whose id was closed before (earlier in this
        list or in an earlier one) refused; the new ids are remembered."""
        ids = list({group.order_id for group in closed if group.order_id})
        began: dict[str, int] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            began.update(
                self.db.execute(
                    f"SELECT order_id, line FROM seen WHERE order_id IN ({marks})", chunk
                )
            )
        new: list[tuple[str, int]] = []
        for group in closed:
            order_id = group.order_id
            if not order_id:
                continue
            first = began.get(order_id)
            if first is None:
                began[order_id] = group.rows[0][0]
                new.append((order_id, group.rows[0][0]))
            elif group.problem is None:
                group.problem = (
                    0,
                    f"order_id: order {order_id!r} began on line {first}, and this row is "
                    f"more than {window} lines after the order's previous row, too far to be "
                    "grouped with it (put the rows of an order together)",
                )
        self.db.executemany("INSERT INTO seen VALUES (?, ?)", new)
        return closed

    def close(self) -> None:
        self.db.close()
