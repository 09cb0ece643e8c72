"""``lojal import members|purchases|cdnow``: stream a file in batches with a progress bar and
end with a summary line."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import SystemClock
from lojal.db.session import make_session_factory

if TYPE_CHECKING:
    from lojal.imports.reader import Summary

console = Console(stderr=True)
MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map", help="field=Column: read FIELD from the file's column COLUMN (repeatable)"
    ),
]
RejectsOption = Annotated[
    Path | None, typer.Option("--rejects", help="where rejected rows go (default FILE.rejects.csv)")
]
BatchOption = Annotated[
    int, typer.Option("--batch-size", min=1, help="rows (purchases: orders) per transaction")
]
EncodingOption = Annotated[
    str,
    typer.Option(
        "--encoding", help="the file's text encoding: utf-8 (the default), latin-1, cp1252, ..."
    ),
]
PauseOption = Annotated[
    float, typer.Option("--pause", hidden=True, help="seconds to wait after each batch (tests)")
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="LOJAL_DATABASE_URL",
        help="Database URL (default sqlite:///lojal.db)",
    ),
]


@contextmanager
def _factory(database_url: str | None) -> Iterator[sessionmaker[Session]]:
    from lojal.cli import open_database  # the root command imports this module's commands

    engine = open_database(database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar shown from its first update, so that a file refused at the start
    leaves only the sentence saying why."""
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    task: list[TaskID] = []

    def update(done: int, total: int) -> None:
        if not task:
            bar.start()
            task.append(bar.add_task(label, total=None))
        bar.update(task[0], completed=done, total=total)

    try:
        yield update
    finally:
        if task:
            bar.stop()


def register(import_app: typer.Typer) -> None:
    @import_app.command("members")
    def import_members(
        file: Path,
        database_url: DbOption = None,
        map: MapOption = None,
        rejects: RejectsOption = None,
        batch_size: BatchOption = 5000,
        pause: PauseOption = 0.0,
        encoding: EncodingOption = "utf-8",
    ) -> None:
        """Import members from CSV (email, phone, card_number, external_id, names, consents)."""
        from lojal.imports import members
        from lojal.imports.reader import parse_mapping

        mapping = parse_mapping(map)
        with _factory(database_url) as factory, _progress("members") as progress:
            summary = members.run(
                factory,
                file,
                now=SystemClock().now(),
                mapping=mapping,
                rejects_path=rejects,
                batch_size=batch_size,
                progress=progress,
                pause=pause,
                encoding=encoding,
                warn=_warn,
            )
        _report(summary, rejects or Path(f"{file}.rejects.csv"), encoding)

    @import_app.command("purchases")
    def import_purchases(
        file: Path,
        database_url: DbOption = None,
        map: MapOption = None,
        rejects: RejectsOption = None,
        batch_size: BatchOption = 5000,
        pause: PauseOption = 0.0,
        encoding: EncodingOption = "utf-8",
        workers: Annotated[
            int,
            typer.Option(
                min=0,
                help="processes that share the work, by member (0: one per CPU for files "
                "over 5 MB, else 1)",
            ),
        ] = 0,
    ) -> None:
        """Import purchases from CSV (one row per line item) through the rules into the
        ledger. Re-running the same file adds nothing."""
        from lojal.imports import purchases
        from lojal.imports.reader import parse_mapping

        if workers == 0:
            big = file.exists() and file.stat().st_size > 5_000_000
            workers = min(os.cpu_count() or 1, 4) if big else 1

        mapping = parse_mapping(map)
        with _factory(database_url) as factory, _progress("purchases") as progress:
            summary = purchases.run(
                factory,
                file,
                now=SystemClock().now(),
                mapping=mapping,
                rejects_path=rejects,
                batch_size=batch_size,
                progress=progress,
                pause=pause,
                workers=workers,
                encoding=encoding,
                warn=_warn,
            )
        _report(summary, rejects or Path(f"{file}.rejects.csv"), encoding)

    @import_app.command("cdnow")
    def import_cdnow(
        file: Annotated[
            Path | None, typer.Argument(help="CDNOW_master.txt (default: the copy in data/cdnow)")
        ] = None,
        database_url: DbOption = None,
        limit: Annotated[int | None, typer.Option(help="only the first N rows")] = None,
        batch_size: BatchOption = 5000,
    ) -> None:
        """Load the real CDNOW purchase history (1997-98) as members and purchases."""
        from lojal.imports import cdnow

        path = file or cdnow.DEFAULT_FILE
        with _factory(database_url) as factory, _progress("cdnow") as progress:
            summary = cdnow.run(
                factory,
                path,
                now=SystemClock().now(),
                limit=limit,
                batch_size=batch_size,
                progress=progress,
            )
        _report(summary, None)


def _warn(text: str) -> None:
    console.print(f"[yellow]warning[/yellow]: {text}", markup=True, highlight=False)


def _report(summary: Summary, rejects: Path | None, encoding: str = "utf-8") -> None:
    print(summary.line())
    if summary.rejected and rejects is not None:
        console.print(f"rejected rows are in {rejects}", highlight=False)
    if summary.undecodable:
        console.print(
            f"{summary.undecodable} rows are not {encoding} text: if the file is in another "
            "encoding, import it again with --encoding (e.g. --encoding latin-1); the rows "
            "already imported are skipped",
            highlight=False,
        )
