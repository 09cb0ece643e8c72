"""``lojal ledger verify``: the ledger's own check of itself."""

from __future__ import annotations

import typer

from lojal.commands import DbOption, console, err, session_for
from lojal.ledger import queries

ledger_app = typer.Typer(help="The points ledger.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")


@ledger_app.command("verify")
def verify(ctx: typer.Context, database_url: DbOption = None) -> None:
    """Check that every entry balances and every balance equals the sum of its postings."""
    with session_for(ctx, database_url) as session:
        problems = queries.verify(session)
    for problem in problems:
        err.print(problem)
    if problems:
        raise typer.Exit(1)
    console.print("ledger verified: every entry balances, every balance is its postings' sum")
