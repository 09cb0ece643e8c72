"""``lojal import members|purchases|cdnow``: stream a file in batches with a progress bar and
end with a summary line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from lojal.clock import SystemClock
from lojal.commands import DbOption, progress, session_factory
from lojal.commands import err as console
from lojal.imports import cdnow, members, parallel, purchases
from lojal.imports.reader import Summary, parse_mapping

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

import_app = typer.Typer(help="Import CSV files (streaming, idempotent).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


@import_app.command("members")
def import_members(
    ctx: typer.Context,
    file: Path,
    database_url: DbOption = None,
    map: MapOption = None,
    rejects: RejectsOption = None,
    batch_size: BatchOption = 5000,
    pause: PauseOption = 0.0,
    encoding: EncodingOption = "utf-8",
) -> None:
    """Import members from CSV (email, phone, card_number, external_id, names, consents)."""
    mapping = parse_mapping(map)
    with session_factory(ctx, database_url) as factory, progress("members") as update:
        summary = members.run(
            factory,
            file,
            now=SystemClock().now(),
            mapping=mapping,
            rejects_path=rejects,
            batch_size=batch_size,
            progress=update,
            pause=pause,
            encoding=encoding,
            warn=_warn,
        )
    _report(summary, rejects or Path(f"{file}.rejects.csv"), encoding)


@import_app.command("purchases")
def import_purchases(
    ctx: typer.Context,
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
    if workers == 0:
        big = file.exists() and file.stat().st_size > 5_000_000
        workers = min(os.cpu_count() or 1, 4) if big else 1
    if workers > 1:
        parallel.start_server()  # its import of lojal overlaps this process's start
    mapping = parse_mapping(map)
    with session_factory(ctx, database_url) as factory, progress("purchases") as update:
        summary = purchases.run(
            factory,
            file,
            now=SystemClock().now(),
            mapping=mapping,
            rejects_path=rejects,
            batch_size=batch_size,
            progress=update,
            pause=pause,
            workers=workers,
            encoding=encoding,
            warn=_warn,
        )
    _report(summary, rejects or Path(f"{file}.rejects.csv"), encoding)


@import_app.command("cdnow")
def import_cdnow(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="CDNOW_master.txt (default: the copy in data/cdnow)")
    ] = None,
    database_url: DbOption = None,
    limit: Annotated[int | None, typer.Option(help="only the first N rows")] = None,
    batch_size: BatchOption = 5000,
) -> None:
    """Load the real CDNOW purchase history (1997-98) as members and purchases."""
    path = file or cdnow.DEFAULT_FILE
    with session_factory(ctx, database_url) as factory, progress("cdnow") as update:
        summary = cdnow.run(
            factory,
            path,
            now=SystemClock().now(),
            limit=limit,
            batch_size=batch_size,
            progress=update,
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
