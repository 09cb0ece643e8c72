"""``lojal keys create|revoke``: API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, session_for, settings
from lojal.staff import service

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def create(
    ctx: typer.Context,
    name: str,
    scope: Annotated[list[str], typer.Option(help="admin, integration or pos")] = ["admin"],  # noqa: B006
    database_url: DbOption = None,
) -> None:
    """Create an API key; the key is printed once."""
    pepper = settings(ctx, database_url).api_key_pepper
    with session_for(ctx, database_url) as session:
        row, key = service.create_key(
            session, name=name, scopes=scope, pepper=pepper, now=SystemClock().now()
        )
    console.print(f"API key for [bold]{row.name}[/bold] ({row.scopes}):")
    print(key)


@keys_app.command("revoke")
def revoke(ctx: typer.Context, prefix: str, database_url: DbOption = None) -> None:
    """Revoke an API key by its prefix (the part after 'lojal_')."""
    with session_for(ctx, database_url) as session:
        service.revoke(session, prefix=prefix, now=SystemClock().now())
    console.print(f"key {prefix} revoked")
