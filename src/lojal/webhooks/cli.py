"""``lojal webhooks``: endpoints for the club's events (Standard Webhooks)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from lojal.clock import SystemClock
from lojal.commands import DbOption, session_for
from lojal.webhooks import service
from lojal.webhooks.schemas import EndpointCreate

console = Console()


def register(app: typer.Typer) -> None:
    hooks_app = typer.Typer(help="Signed webhooks on the club's events.", no_args_is_help=True)
    app.add_typer(hooks_app, name="webhooks")

    @hooks_app.command("add")
    def add(
        command: typer.Context,
        url: str,
        event: Annotated[
            list[str] | None, typer.Option("--event", help="an event type (repeat); none: all")
        ] = None,
        description: str | None = None,
        database_url: DbOption = None,
    ) -> None:
        """Add an endpoint and print its signing secret."""

        data = EndpointCreate(url=url, event_types=event or [], description=description)
        with session_for(command, database_url) as session:
            endpoint = service.create(session, data=data, now=SystemClock().now())
            console.print(f"endpoint {endpoint.id}: {endpoint.url}")
            console.print(f"secret: {endpoint.secrets[0]}")

    @hooks_app.command("list")
    def list_(command: typer.Context, database_url: DbOption = None) -> None:
        """The endpoints: id, url, on or off (and why), event types."""

        with session_for(command, database_url) as session:
            for e in service.list_all(session):
                state = "on" if e.active else f"off ({e.disabled_reason})"
                console.print(f"{e.id}\t{e.url}\t{state}\t{','.join(e.event_types) or 'all'}")

    @hooks_app.command("rotate")
    def rotate(command: typer.Context, endpoint_id: int, database_url: DbOption = None) -> None:
        """A new signing secret; the old ones keep signing beside it until retired."""

        with session_for(command, database_url) as session:
            endpoint = service.rotate_secret(
                session, endpoint_id=endpoint_id, now=SystemClock().now()
            )
            console.print(f"new secret: {endpoint.secrets[0]}")
