"""``lojal jobs run``: the scheduled work, from cron."""

from __future__ import annotations

import typer

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, session_factory, settings
from lojal.jobs.service import run_due

jobs_app = typer.Typer(help="Scheduled jobs.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")


@jobs_app.command("run")
def run(ctx: typer.Context, database_url: DbOption = None) -> None:
    """Activate points whose pending period is over, expire points past their date, end paid
    memberships that were not renewed and review tiers whose period is over. Safe to run
    twice, and from cron."""
    with session_factory(ctx, database_url) as factory:
        summary = run_due(
            factory,
            clock=SystemClock(),
            ttl_hours=settings(ctx, database_url).idempotency_ttl_hours,
        )
    for label, count in summary.lines():
        console.print(f"{label}: {count}")
