"""``lojal demo``: a ready-to-explore club in one command."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from lojal.clock import SystemClock
from lojal.config import Settings
from lojal.db.engine import make_engine
from lojal.db.session import make_session_factory

console = Console()
DbOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="LOJAL_DATABASE_URL",
        help="Database URL (default sqlite:///lojal.db)",
    ),
]


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        database_url: DbOption = None,
        serve: Annotated[bool, typer.Option(help="then serve the API on 127.0.0.1:8000")] = False,
        members: Annotated[int, typer.Option(min=1, help="how many members")] = 2000,
        seed: Annotated[int, typer.Option(help="random seed (same seed, same club)")] = 1,
        until: Annotated[
            str | None,
            typer.Option(help="last day of the year of activity (YYYY-MM-DD, default today)"),
        ] = None,
    ) -> None:
        """Create the schema and load a demo club: programme, members, a year of purchases,
        returns and events, and an admin API key."""
        from lojal.cli import option_day
        from lojal.db.migrate import upgrade
        from lojal.demo.generator import generate

        last_day = option_day(until, "--until")
        cfg = Settings(database_url=database_url) if database_url else Settings()
        engine = make_engine(cfg.database_url)
        try:
            upgrade(engine)
            with console.status("loading the demo club…"):
                summary = generate(
                    make_session_factory(engine),
                    members=members,
                    seed=seed,
                    until=last_day,
                    now=SystemClock().now(),
                    pepper=cfg.api_key_pepper,
                )
        finally:
            engine.dispose()
        if summary.already_loaded:
            console.print("the demo club is already loaded in this database: nothing added")
        else:
            console.print(
                f"demo club loaded: {summary.members} members, {summary.purchases} purchases, "
                f"{summary.returns} returns, {summary.events} events, {summary.points} points"
            )
        console.print("admin API key (shown once):")
        print(summary.api_key)
        if serve:
            import uvicorn

            from lojal.app import create_app

            uvicorn.run(
                create_app(cfg, freeze_gc=True), host="127.0.0.1", port=8000, log_level="info"
            )
