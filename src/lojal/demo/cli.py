"""``lojal demo``: a ready-to-explore club in one command."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, env_note, option_day, proxies, settings
from lojal.db.engine import make_engine
from lojal.db.migrate import upgrade
from lojal.db.session import make_session_factory
from lojal.demo.generator import generate

PHASES = ("members", "purchases", "returns", "events", "redemptions", "jobs")


@contextmanager
def phases() -> Iterator[Callable[[str, int, int], None]]:
    """One progress bar per phase of the load, each shown when its phase starts."""
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TaskProgressColumn(),
        console=console,
    ) as bars:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bars.add_task(phase, total=total)
            bars.update(tasks[phase], completed=done, total=total)

        yield update


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        ctx: typer.Context,
        database_url: DbOption = None,
        serve: Annotated[bool, typer.Option(help="then serve the API")] = False,
        host: Annotated[
            str | None, typer.Option(help=env_note("LOJAL_HOST", "127.0.0.1"), show_default=False)
        ] = None,
        port: Annotated[
            int | None, typer.Option(help=env_note("LOJAL_PORT", 8000), show_default=False)
        ] = None,
        members: Annotated[int, typer.Option(min=1, help="how many members")] = 2000,
        seed: Annotated[int, typer.Option(help="random seed (same seed, same club)")] = 1,
        until: Annotated[
            str | None,
            typer.Option(help="last day of the year of activity (YYYY-MM-DD, default today)"),
        ] = None,
    ) -> None:
        """Create the schema and load a demo club: programme, members, a year of purchases,
        returns and events, and an admin API key; print a command to try it with."""
        last_day = option_day(until, "--until")
        cfg = settings(ctx, database_url)
        host = cfg.host if host is None else host  # an option given stands over its setting
        port = cfg.port if port is None else port
        engine = make_engine(cfg.database_url)
        try:
            upgrade(engine)
            with phases() as progress:
                summary = generate(
                    make_session_factory(engine),
                    members=members,
                    seed=seed,
                    until=last_day,
                    now=SystemClock().now(),
                    pepper=cfg.api_key_pepper,
                    progress=progress,
                )
        finally:
            engine.dispose()
        if summary.already_loaded:
            console.print("the demo club is already loaded in this database: nothing added")
        else:
            console.print(
                f"demo club loaded: {summary.members} members, {summary.purchases} purchases, "
                f"{summary.returns} returns, {summary.events} events, {summary.points} points, "
                f"{summary.redemptions} rewards redeemed",
                soft_wrap=True,
            )
        console.print("admin API key (shown once):")
        print(summary.api_key, flush=True)
        api = f"http://{host}:{port}/api/v1"
        if summary.example_member is not None:
            # Lines to paste into a shell; the README's examples use the same variables.
            print(
                f"try it with member {summary.example_member} (paste into a shell):\n"
                f"  export KEY={summary.api_key} API={api} MEMBER={summary.example_member}\n"
                '  curl -s -H "Authorization: Bearer $KEY" $API/members/$MEMBER/summary\n'
                f"the API's documentation: http://{host}:{port}/docs",
                flush=True,
            )
        if serve:
            # uvicorn and the app (its routers, pages and templates: ~1 s of CPU) are the
            # server's alone: imported when serving, so that every other command starts
            # without them.
            import uvicorn  # noqa: PLC0415  (when serving: above)

            from lojal.app import create_app  # noqa: PLC0415  (when serving: above)

            uvicorn.run(
                create_app(cfg, freeze_gc=True),
                host=host,
                port=port,
                log_level="info",
                **proxies(cfg),
            )
