"""The ``lojal`` command: it composes the features' commands (``<feature>/cli.py``) and holds
the two that belong to no feature, ``serve`` and ``db upgrade``. What the commands share —
the database option, the settings, a transaction, the consoles, turning errors into exit codes
— is ``lojal.commands``."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from lojal import commands
from lojal.badges import cli as badges_cli
from lojal.challenges import cli as challenges_cli
from lojal.commands import DbOption, console, env_note, open_database, proxies, settings
from lojal.coupons import cli as coupons_cli
from lojal.db.engine import make_engine
from lojal.db.migrate import upgrade
from lojal.demo import cli as demo_cli
from lojal.fraud import cli as fraud_cli
from lojal.imports import cli as imports_cli
from lojal.insight import cli as insight_cli
from lojal.jobs import cli as jobs_cli
from lojal.journeys import cli as journeys_cli
from lojal.ledger import cli as ledger_cli
from lojal.members import cli as members_cli
from lojal.memberships import cli as memberships_cli
from lojal.pages import cli as pages_cli
from lojal.privacy import cli as privacy_cli
from lojal.program import cli as program_cli
from lojal.referrals import cli as referrals_cli
from lojal.rewards import cli as rewards_cli
from lojal.segments import cli as segments_cli
from lojal.staff import cli as staff_cli
from lojal.summary import cli as summary_cli
from lojal.tiers import cli as tiers_cli
from lojal.webhooks import cli as webhooks_cli
from lojal.worker import cli as worker_cli

app = typer.Typer(
    help="lojal — the loyalty programme and customer club platform.", no_args_is_help=True
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
    import uvicorn

    from lojal.app import create_app

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


# The order here is the order of `lojal --help`.
demo_cli.register(app)
app.add_typer(db_app, name="db")
program_cli.register(app)
members_cli.register(app)
summary_cli.register(members_cli.members_app)
privacy_cli.register(members_cli.members_app)
staff_cli.register(app)
jobs_cli.register(app)
imports_cli.register(app)
insight_cli.register(app)
ledger_cli.register(app)
referrals_cli.register(app)
tiers_cli.register(app)
memberships_cli.register(app)
challenges_cli.register(app)
badges_cli.register(app)
coupons_cli.register(app)
rewards_cli.register(app)
pages_cli.register(app)
worker_cli.register(app)
webhooks_cli.register(app)
segments_cli.register(app)
journeys_cli.register(app)
fraud_cli.register(app)
