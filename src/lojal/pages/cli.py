"""``lojal staff``: the people who sign in to the admin pages."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from lojal.clock import SystemClock
from lojal.config import Settings
from lojal.db.engine import make_engine
from lojal.db.migrate import require_current
from lojal.db.session import make_session_factory, transaction
from lojal.pages import accounts
from lojal.pages.roles import ROLES

console = Console()
app = typer.Typer(help="Staff users of the admin pages.", no_args_is_help=True)
DbOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="LOJAL_DATABASE_URL",
        help="Database URL (default sqlite:///lojal.db)",
    ),
]


def _factory(database_url: str | None):  # type: ignore[no-untyped-def]
    settings = Settings(database_url=database_url) if database_url else Settings()
    engine = make_engine(settings.database_url)
    require_current(engine)
    return engine, make_session_factory(engine)


@app.command("add-user")
def add_user(
    email: Annotated[str, typer.Argument(help="the person's email (their sign-in name)")],
    role: Annotated[str, typer.Option(help=f"one of: {', '.join(ROLES)}")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="LOJAL_STAFF_PASSWORD",
            help=f"prompted for when not given (at least {accounts.MIN_PASSWORD} characters)",
        ),
    ],
    database_url: DbOption = None,
) -> None:
    """Add a staff user who signs in at /staff/sign-in."""
    engine, factory = _factory(database_url)
    try:
        with transaction(factory) as session:
            user = accounts.add_user(
                session, email=email, role=role, password=password, now=SystemClock().now()
            )
            console.print(f"added {user.email} as {user.role}")
    finally:
        engine.dispose()


@app.command("list")
def list_users(database_url: DbOption = None) -> None:
    """The staff users and their roles."""
    engine, factory = _factory(database_url)
    try:
        with transaction(factory, read_only=True) as session:
            for user in accounts.users(session):
                last = user.last_sign_in_at.isoformat() if user.last_sign_in_at else "never"
                console.print(f"{user.email}\t{user.role}\tlast sign-in {last}")
    finally:
        engine.dispose()


@app.command("remove")
def remove_user(email: str, database_url: DbOption = None) -> None:
    """Remove a staff user; their open sessions end at once."""
    engine, factory = _factory(database_url)
    try:
        with transaction(factory) as session:
            user = accounts.remove_user(session, email=email)
            console.print(f"removed {user.email}")
    finally:
        engine.dispose()
