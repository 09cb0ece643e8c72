"""The ``lojal`` command: it composes the features' commands (``<feature>/cli.py``) and holds
the two that belong to no feature, ``serve`` and ``db upgrade``. What the commands share —
the database option, the settings, a transaction, the consoles, turning errors into exit codes
— is ``lojal.commands``."""

from __future__ import annotations

import os
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Annotated

import typer
import typer.core
import typer.main

from lojal import commands
from lojal.commands import DbOption, console, env_note, open_database, proxies, settings
from lojal.db.engine import make_engine
from lojal.db.migrate import upgrade

if TYPE_CHECKING:  # Typer's own copy of Click, whose classes its groups take and return
    from typer._click import Command, Context

# The features' commands, in the order of `lojal --help` (after `serve`): each name, and the
# module whose ``register(root)`` adds it. A module is imported when one of its commands is
# named on the command line (Click's lazy loading of subcommands), so that `lojal import
# purchases` starts without SciPy (`lojal demo` refits the insight), FastAPI (`lojal journeys`'
# views) or DKIM (the worker's senders) — ~2 s of CPU and ~110 MiB at every start otherwise;
# `lojal --help` imports them all. The features' modules sit below this one (the import
# contracts of pyproject.toml).
FEATURES: dict[str, str] = {
    "demo": "lojal.demo.cli",
    "program": "lojal.program.cli",
    "members": "lojal.members.cli",
    "keys": "lojal.staff.cli",
    "jobs": "lojal.jobs.cli",
    "import": "lojal.imports.cli",
    "insight": "lojal.insight.cli",
    "ledger": "lojal.ledger.cli",
    "referrals": "lojal.referrals.cli",
    "tiers": "lojal.tiers.cli",
    "plans": "lojal.memberships.cli",
    "memberships": "lojal.memberships.cli",
    "challenges": "lojal.challenges.cli",
    "badges": "lojal.badges.cli",
    "coupons": "lojal.coupons.cli",
    "rewards": "lojal.rewards.cli",
    "staff": "lojal.pages.cli",
    "worker": "lojal.worker.cli",
    "webhooks": "lojal.webhooks.cli",
    "segments": "lojal.segments.cli",
    "journeys": "lojal.journeys.cli",
    "fraud": "lojal.fraud.cli",
}
# Commands that a feature adds to another feature's group: `lojal members summary|export|...`.
MEMBER_COMMANDS = ("lojal.summary.cli", "lojal.privacy.cli")


@cache
def _loaded(module: str) -> typer.core.TyperGroup:
    """The commands that ``module`` registers, as Click sees them (built once per process)."""
    holder = typer.Typer()
    feature = import_module(module)
    feature.register(holder)
    if module == "lojal.members.cli":
        for extra in MEMBER_COMMANDS:
            import_module(extra).register(feature.members_app)
    return typer.main.get_group(holder)


class Commands(typer.core.TyperGroup):
    """The root group: its own commands (`serve`, `db`) and the features', loaded when named."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*super().list_commands(ctx), *FEATURES]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in FEATURES:
            command = _loaded(FEATURES[cmd_name]).commands.get(cmd_name)
        return command


app = typer.Typer(
    cls=Commands,
    help="lojal — the loyalty programme and customer club platform.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.callback()
def start(ctx: typer.Context) -> None:
    # The run's settings, read from the environment once by Settings and passed to every
    # command through the context (lojal.commands.settings).
    ctx.obj = commands.Invocation()


def main() -> None:
    """The ``lojal`` command: whatever goes wrong ends in one line and a non-zero exit code
    (``lojal.failures``), never a traceback."""
    commands.run(app)


@app.command()
def serve(
    ctx: typer.Context,
    database_url: DbOption = None,
    host: Annotated[
        str | None, typer.Option(help=env_note("LOJAL_HOST", "127.0.0.1"), show_default=False)
    ] = None,
    port: Annotated[
        int | None, typer.Option(help=env_note("LOJAL_PORT", 8000), show_default=False)
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="server processes (PostgreSQL; SQLite has one writer at a time) "
            + env_note("LOJAL_WORKERS", 1),
            show_default=False,
        ),
    ] = None,
    access_log: Annotated[
        bool | None,
        typer.Option(
            help="log every request (off when a proxy in front keeps the access log) "
            + env_note("LOJAL_ACCESS_LOG", "access-log"),
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the API (OpenAPI at /openapi.json, docs at /docs)."""
    # uvicorn and the app (its routers, pages and templates: ~1 s of CPU) are the server's
    # alone: imported when serving, so that every other command starts without them.
    import uvicorn  # noqa: PLC0415  (when serving: above)

    from lojal.app import create_app  # noqa: PLC0415  (when serving: above)

    cfg = settings(ctx, database_url)  # an option given here stands over its setting
    host = cfg.host if host is None else host
    port = cfg.port if port is None else port
    workers = cfg.workers if workers is None else workers
    access_log = cfg.access_log if access_log is None else access_log
    # A database the server cannot work on is refused here, with the fix, rather than
    # answering every request with an error.
    open_database(ctx, database_url).dispose()
    if workers > 1:
        # Each worker process builds its own app (uvicorn imports the factory by name) from
        # the settings in its environment, so the database given here goes there.
        os.environ["LOJAL_DATABASE_URL"] = cfg.database_url
        uvicorn.run(
            "lojal.app:served_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=access_log,
            **proxies(cfg),
        )
        return
    uvicorn.run(
        create_app(cfg, freeze_gc=True),
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
        **proxies(cfg),
    )


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, database_url: DbOption = None, revision: str = "head") -> None:
    """Create or migrate the schema."""
    engine = make_engine(settings(ctx, database_url).database_url)
    upgrade(engine, revision)
    engine.dispose()
    console.print(f"database at [bold]{revision}[/bold]")


app.add_typer(db_app, name="db")
