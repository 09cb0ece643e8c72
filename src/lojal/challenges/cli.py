"""``lojal challenges ...``: define challenges in a YAML file, activate and end them, see how
they go and where a member stands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lojal.challenges import matching, service
from lojal.clock import SystemClock
from lojal.commands import DbOption, console, session_for
from lojal.i18n import format_money
from lojal.program import service as program_service
from lojal.terminal import print_table

challenges_app = typer.Typer(
    help="Challenges (gamification): define, activate, end, follow.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(challenges_app, name="challenges")


@challenges_app.command("apply")
def apply(
    ctx: typer.Context,
    file: Path,
    activate: Annotated[bool, typer.Option(help="activate the challenges as well")] = False,
    database_url: DbOption = None,
) -> None:
    """Create or change the challenges in FILE (YAML or JSON: one challenge or a list)."""
    text = file.read_text(encoding="utf-8")
    definitions = service.parse(text)
    now = SystemClock().now()
    with session_for(ctx, database_url) as session:
        for definition in definitions:
            row, created = service.apply(
                session,
                definition=definition,
                now=now,
                source=text if len(definitions) == 1 else None,
            )
            if activate:
                row = service.activate(session, code=row.code, now=now)
            verb = "created" if created else "updated"
            console.print(f"challenge [bold]{row.code}[/bold] {verb} ({row.status})")


@challenges_app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="draft, active or ended")] = None,
    database_url: DbOption = None,
) -> None:
    """The club's challenges."""
    with session_for(ctx, database_url) as session:
        currency = program_service.current(session).currency
        table = Table(title="challenges")
        for column in ("code", "name", "status", "goal", "runs from", "runs until"):
            table.add_column(column, no_wrap=column == "goal")  # "sum SEK 500.00" in one piece
        for row in service.list_all(session, status=status):
            definition = service.definition_of(row)
            goal = definition.goal
            target = (
                format_money(goal.target, currency)
                if matching.sums_money(definition)
                else str(goal.target)
            )
            table.add_row(
                row.code,
                row.name,
                row.status,
                f"{goal.kind} {target}",
                row.runs_from.isoformat() if row.runs_from else "",
                row.runs_until.isoformat() if row.runs_until else "",
            )
    print_table(console, table)


@challenges_app.command("show")
def show(ctx: typer.Context, code: str, database_url: DbOption = None) -> None:
    """A challenge's definition and state, as JSON."""
    with session_for(ctx, database_url) as session:
        console.print_json(service.to_read(service.get(session, code)).model_dump_json())


@challenges_app.command("activate")
def activate(ctx: typer.Context, code: str, database_url: DbOption = None) -> None:
    """Start counting activity (from the challenge's starts_at, or from now)."""
    with session_for(ctx, database_url) as session:
        row = service.activate(session, code=code, now=SystemClock().now())
        start = row.runs_from.isoformat() if row.runs_from else "now"
        console.print(f"challenge [bold]{code}[/bold] active from {start}")


@challenges_app.command("end")
def end(ctx: typer.Context, code: str, database_url: DbOption = None) -> None:
    """Stop counting; members keep their progress and completions."""
    with session_for(ctx, database_url) as session:
        service.end(session, code=code, now=SystemClock().now())
        console.print(f"challenge [bold]{code}[/bold] ended")


@challenges_app.command("stats")
def stats(ctx: typer.Context, code: str, database_url: DbOption = None) -> None:
    """Participants, completions and points awarded."""
    with session_for(ctx, database_url) as session:
        result = service.stats(session, code=code, now=SystemClock().now())
    console.print_json(result.model_dump_json())


@challenges_app.command("progress")
def progress(ctx: typer.Context, member_id: int, database_url: DbOption = None) -> None:
    """Where a member stands in the challenges running now."""
    with session_for(ctx, database_url) as session:
        rows = service.active_for_member(session, member_id=member_id, now=SystemClock().now())
    console.print_json(json.dumps([row.model_dump(mode="json") for row in rows]))
