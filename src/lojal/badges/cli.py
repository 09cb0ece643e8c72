"""``lojal badges ...``: define badges, give them by hand, see a member's."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from lojal.badges import service
from lojal.badges.schemas import BadgeCreate
from lojal.clock import SystemClock
from lojal.commands import DbOption, console, session_for
from lojal.terminal import print_table

badges_app = typer.Typer(
    help="Badges: define them, grant them, see a member's.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(badges_app, name="badges")


@badges_app.command("create")
def create(
    ctx: typer.Context,
    code: str,
    name: Annotated[str, typer.Option(help="what members see")],
    description: str | None = None,
    image_url: str | None = None,
    database_url: DbOption = None,
) -> None:
    """Define a badge."""
    data = BadgeCreate.model_validate(
        {"code": code, "name": name, "description": description, "image_url": image_url}
    )
    with session_for(ctx, database_url) as session:
        service.create(session, data=data, now=SystemClock().now())
    console.print(f"badge [bold]{code}[/bold] created")


@badges_app.command("list")
def list_(ctx: typer.Context, database_url: DbOption = None) -> None:
    """The club's badges."""
    table = Table(title="badges")
    for column in ("code", "name", "image"):
        table.add_column(column)
    with session_for(ctx, database_url) as session:
        for badge in service.list_all(session):
            table.add_row(badge.code, badge.name, badge.image_url or "")
    print_table(console, table)


@badges_app.command("grant")
def grant(ctx: typer.Context, member_id: int, code: str, database_url: DbOption = None) -> None:
    """Give a member a badge by hand."""
    with session_for(ctx, database_url) as session:
        service.grant(session, member_id=member_id, code=code, actor="cli", now=SystemClock().now())
    console.print(f"member {member_id} holds the badge [bold]{code}[/bold]")


@badges_app.command("revoke")
def revoke(ctx: typer.Context, member_id: int, code: str, database_url: DbOption = None) -> None:
    """Take a badge from a member."""
    with session_for(ctx, database_url) as session:
        service.revoke(session, member_id=member_id, code=code)
    console.print(f"member {member_id} no longer holds the badge [bold]{code}[/bold]")


@badges_app.command("show")
def show(ctx: typer.Context, member_id: int, database_url: DbOption = None) -> None:
    """A member's badges, as JSON."""
    with session_for(ctx, database_url) as session:
        rows = service.badges_of(session, member_id=member_id)
    console.print_json(json.dumps([row.model_dump(mode="json") for row in rows]))
