"""``lojal program apply|show``: the club's programme file."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, session_for
from lojal.program import service

program_app = typer.Typer(help="The club's programme (one per database).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(program_app, name="program")


@program_app.command("apply")
def apply(ctx: typer.Context, file: Path, database_url: DbOption = None) -> None:
    """Apply a programme file (YAML or JSON)."""
    text = file.read_text(encoding="utf-8")
    config = service.parse(text)
    with session_for(ctx, database_url) as session:
        program = service.apply(session, config=config, source=text, now=SystemClock().now())
        console.print(f"programme [bold]{config.name}[/bold] at version {program.version}")


@program_app.command("show")
def show(ctx: typer.Context, database_url: DbOption = None) -> None:
    """Print the programme as it was applied."""
    with session_for(ctx, database_url) as session:
        source = service.get(session).source
    # As it was applied, byte for byte: a console would wrap long lines to its width
    sys.stdout.write(source if source.endswith("\n") else source + "\n")
