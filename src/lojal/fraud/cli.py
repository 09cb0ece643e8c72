"""``lojal fraud alerts|acknowledge|sweep``: the fraud alerts from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, session_for
from lojal.fraud import queries, service, tasks
from lojal.fraud.schemas import Acknowledge
from lojal.program import service as program
from lojal.terminal import print_table

fraud_app = typer.Typer(help="Fraud alerts.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(fraud_app, name="fraud")


@fraud_app.command("alerts")
def alerts(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="acknowledged ones too")] = False,
    kind: Annotated[str | None, typer.Option(help="one kind of alert")] = None,
    member: Annotated[int | None, typer.Option(help="alerts about one member")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    database_url: DbOption = None,
) -> None:
    """The alerts, newest first (the open ones unless --all)."""
    with session_for(ctx, database_url) as session:
        page = queries.alerts(session, open_only=not all_, kind=kind, member_id=member, limit=limit)
    table = Table("id", "kind", "member", "raised", "details", "acknowledged by")
    for a in page.alerts:
        details = ", ".join(f"{k} {v}" for k, v in a.details.items())
        table.add_row(
            str(a.id),
            a.kind,
            "" if a.member_id is None else str(a.member_id),
            a.created_at.isoformat()[:19],
            details,
            a.acknowledged_by or "",
        )
    print_table(console, table)
    console.print(f"{len(page.alerts)} alerts")


@fraud_app.command("acknowledge")
def acknowledge(
    ctx: typer.Context,
    alert_id: int,
    release: Annotated[
        bool, typer.Option(help="an earn_velocity alert: make the held points available")
    ] = False,
    note: Annotated[str | None, typer.Option(help="what was found")] = None,
    database_url: DbOption = None,
) -> None:
    """Mark an alert as looked at (by you)."""
    body = Acknowledge(release=release, note=note)
    with session_for(ctx, database_url) as session:
        done = service.acknowledge(session, alert_id=alert_id, body=body, now=SystemClock().now())
    console.print(f"alert {done.id} acknowledged by {done.acknowledged_by}")


@fraud_app.command("sweep")
def sweep(ctx: typer.Context, database_url: DbOption = None) -> None:
    """Look for patterns across members now (the worker does it every 15 minutes)."""
    with session_for(ctx, database_url) as session:
        fraud = program.current(session).fraud
        found = tasks.sweep(session, fraud=fraud, now=SystemClock().now())
    console.print(f"{found} patterns found")
