"""Tables for a person at a terminal of any width.

Rich fits a table to a narrow terminal by squeezing its columns, and a word that no longer
fits is cut with an ellipsis ("qualif…", "2026-01-01T0…"): a wide report at 80 columns becomes
a row of stumps. (It squeezes even when every word could fit: it shrinks the widest columns
first, not knowing their longest words.) ``print_table`` prints the table as it is when it
fits at its natural width; otherwise each row becomes a block of lines, each column's header
beside its value (as psql's expanded display), which fits any width a person reads at.
"""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table


def print_table(console: Console, table: Table) -> None:
    console.print(fitted(console, table))


def fitted(console: Console, table: Table) -> Table:
    """``table`` if it fits ``console``'s width unsqueezed, else the same rows one block each."""
    needed = Measurement.get(console, console.options.update_width(1_000_000), table).maximum
    if needed <= console.width:
        return table
    title = table.title if isinstance(table.title, str) else ""
    blocks = Table(title=table.title, show_header=False, min_width=min(len(title), console.width))
    blocks.add_column(style="bold", no_wrap=True)
    blocks.add_column(overflow="fold")
    rows = list(zip(*(column.cells for column in table.columns), strict=True))
    for number, row in enumerate(rows, start=1):
        for place, (column, cell) in enumerate(zip(table.columns, row, strict=True), start=1):
            last = place == len(table.columns) and number < len(rows)
            blocks.add_row(column.header, cell, end_section=last)
    return blocks
