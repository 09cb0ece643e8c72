"""``lojal keys add|list|rotate|revoke``: API keys (``lojal.staff.service`` says what each kind
may do). The plain key is printed once, when it is made or rotated."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, session_for, settings
from lojal.staff import service
from lojal.terminal import print_table

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


class Kind(StrEnum):
    admin = "admin"
    integration = "integration"
    till = "till"
    app = "app"


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


def _when(value: object) -> str:
    return "" if value is None else str(value)[:19]


def add(
    ctx: typer.Context,
    name: str,
    kind: Annotated[
        Kind,
        typer.Option(help="admin, integration (web shop), till (one store) or app (publishable)"),
    ] = Kind.admin,
    store: Annotated[str | None, typer.Option(help="the till's store id (tills only)")] = None,
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, max=36_500, help="the key stops working after")
    ] = None,
    database_url: DbOption = None,
) -> None:
    """Make an API key; the key is printed once."""
    pepper = settings(ctx, database_url).api_key_pepper
    now = SystemClock().now()
    expires = None if expires_in_days is None else now + timedelta(days=expires_in_days)
    with session_for(ctx, database_url) as session:
        row, key = service.create_key(
            session,
            name=name,
            kind=kind.value,
            store_id=store,
            expires_at=expires,
            pepper=pepper,
            now=now,
        )
    where = f", store {row.store_id}" if row.store_id else ""
    console.print(f"API key for [bold]{row.name}[/bold] ({row.kind}{where}), prefix {row.prefix}:")
    print(key)


keys_app.command("add")(add)
keys_app.command("create", help="Make an API key (the same as 'add').")(add)


@keys_app.command("list")
def list_(ctx: typer.Context, database_url: DbOption = None) -> None:
    """Every key: prefix, name, kind, store, status, when it expires and was rotated."""
    now = SystemClock().now()
    table = Table(title="API keys")
    for column in ("prefix", "name", "kind", "store", "status", "expires", "rotated"):
        table.add_column(column)
    with session_for(ctx, database_url) as session:
        for row in service.list_keys(session):
            table.add_row(
                row.prefix,
                row.name,
                row.kind,
                row.store_id or "",
                service.status_of(row, now),
                _when(row.expires_at),
                _when(row.rotated_at),
            )
    print_table(console, table)


@keys_app.command("rotate")
def rotate(
    ctx: typer.Context,
    prefix: str,
    overlap_hours: Annotated[
        float, typer.Option(min=0, max=720, help="the current secret keeps working this long")
    ] = 24.0,
    database_url: DbOption = None,
) -> None:
    """A new secret for the key (printed once); the current one works on for the overlap."""
    pepper = settings(ctx, database_url).api_key_pepper
    with session_for(ctx, database_url) as session:
        row, key = service.rotate(
            session,
            prefix=prefix,
            overlap=timedelta(hours=overlap_hours),
            pepper=pepper,
            now=SystemClock().now(),
        )
        until = _when(row.previous_valid_until) or "now"
    console.print(f"key {prefix} rotated; the previous secret works until {until}:")
    print(key)


@keys_app.command("revoke")
def revoke(ctx: typer.Context, prefix: str, database_url: DbOption = None) -> None:
    """Revoke an API key by its prefix (the part after 'lojal_'): refused at once, everywhere."""
    with session_for(ctx, database_url) as session:
        service.revoke(session, prefix=prefix, now=SystemClock().now())
    console.print(f"key {prefix} revoked")
