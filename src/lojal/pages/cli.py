"""``lojal staff``: the people who sign in to the admin pages."""

from __future__ import annotations

from typing import Annotated

import typer

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, session_for
from lojal.pages import accounts
from lojal.pages.roles import ROLES

app = typer.Typer(help="Staff users of the admin pages.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="staff")


@app.command("add-user")
def add_user(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="the person's email (their sign-in name)")],
    role: Annotated[str, typer.Option(help=f"one of: {', '.join(ROLES)}")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help=f"prompted for when not given (at least {accounts.MIN_PASSWORD} characters)",
        ),
    ],
    database_url: DbOption = None,
) -> None:
    """Add a staff user who signs in at /staff/sign-in."""
    with session_for(ctx, database_url) as session:
        user = accounts.add_user(
            session, email=email, role=role, password=password, now=SystemClock().now()
        )
        console.print(f"added {user.email} as {user.role}")


@app.command("list")
def list_users(ctx: typer.Context, database_url: DbOption = None) -> None:
    """The staff users and their roles."""
    with session_for(ctx, database_url) as session:
        for user in accounts.users(session):
            last = user.last_sign_in_at.isoformat() if user.last_sign_in_at else "never"
            console.print(f"{user.email}\t{user.role}\tlast sign-in {last}")


@app.command("remove")
def remove_user(ctx: typer.Context, email: str, database_url: DbOption = None) -> None:
    """Remove a staff user; their open sessions end at once."""
    with session_for(ctx, database_url) as session:
        user = accounts.remove_user(session, email=email)
        console.print(f"removed {user.email}")
