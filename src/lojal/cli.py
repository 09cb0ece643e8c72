"""The ``lojal`` command. Commands parse, make one service call inside one transaction, and
print; domain errors become a message and an exit code."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lojal import failures
from lojal.clock import SystemClock
from lojal.config import Settings
from lojal.db.engine import make_engine
from lojal.db.migrate import require_current
from lojal.db.session import make_session_factory, transaction
from lojal.inputs import storable_day, storable_time

app = typer.Typer(
    help="lojal — the loyalty programme and customer club platform.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
program_app = typer.Typer(help="The club's programme (one per database).", no_args_is_help=True)
members_app = typer.Typer(help="Find, enrol, merge and close members.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
jobs_app = typer.Typer(help="Scheduled jobs.", no_args_is_help=True)
import_app = typer.Typer(help="Import CSV files (streaming, idempotent).", no_args_is_help=True)
ledger_app = typer.Typer(help="The points ledger.", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (program_app, "program"),
    (members_app, "members"),
    (keys_app, "keys"),
    (jobs_app, "jobs"),
    (import_app, "import"),
    (ledger_app, "ledger"),
):
    app.add_typer(sub, name=name)

console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="LOJAL_DATABASE_URL",
        help="Database URL (default sqlite:///lojal.db)",
    ),
]


def settings(database_url: str | None = None) -> Settings:
    return Settings(database_url=database_url) if database_url else Settings()


def open_database(database_url: str | None) -> Engine:
    """An engine on a database lojal can work on (``require_current``: it exists, its schema
    is lojal's current one, it answers); otherwise the error says how to fix it."""
    engine = make_engine(settings(database_url).database_url)
    try:
        require_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def session_for(database_url: str | None) -> Iterator[Session]:
    engine = open_database(database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def option_time(value: datetime | None, name: str) -> datetime | None:
    """An option's time in UTC (a time without an offset is UTC), or a usage error naming the
    option when it lies outside what lojal computes with (``lojal.inputs``)."""
    if value is None:
        return None
    try:
        return storable_time(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=name) from None


def option_day(value: str | None, name: str) -> date | None:
    """An option's day (YYYY-MM-DD), or a usage error naming the option."""
    if value is None:
        return None
    try:
        return storable_day(date.fromisoformat(value))
    except ValueError as exc:
        reason = str(exc) if "must be" in str(exc) else "must be a date (YYYY-MM-DD)"
        raise typer.BadParameter(f"{value!r} {reason}", param_hint=name) from None


def main() -> None:
    """The ``lojal`` command: whatever goes wrong ends in one line and a non-zero exit code
    (``lojal.failures``), never a traceback."""
    try:
        app()
    except Exception as error:
        line, code = failures.explain(error)
        err.print(Text(line or failures.unexpected(error)), soft_wrap=True, highlight=False)
        sys.exit(code)


# ------------------------------------------------------------------ serve and db


@app.command()
def serve(
    database_url: DbOption = None,
    host: Annotated[str, typer.Option(envvar="LOJAL_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="LOJAL_PORT")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="LOJAL_WORKERS",
            help="server processes (PostgreSQL; SQLite has one writer at a time)",
        ),
    ] = 1,
    access_log: Annotated[
        bool,
        typer.Option(
            envvar="LOJAL_ACCESS_LOG",
            help="log every request (off when a proxy in front keeps the access log)",
        ),
    ] = True,
) -> None:
    """Serve the API (OpenAPI at /openapi.json, docs at /docs)."""
    import os

    import uvicorn

    from lojal.app import create_app

    cfg = settings(database_url)
    # A database the server cannot work on is refused here, with the fix, rather than
    # answering every request with an error.
    open_database(cfg.database_url).dispose()
    if workers > 1:
        # Each worker process builds its own app (uvicorn imports the factory by name); they
        # read their settings from the environment, so the database given here goes there.
        os.environ["LOJAL_DATABASE_URL"] = cfg.database_url
        uvicorn.run(
            "lojal.app:served_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=access_log,
        )
        return
    uvicorn.run(
        create_app(cfg, freeze_gc=True),
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
    )


@db_app.command("upgrade")
def db_upgrade(database_url: DbOption = None, revision: str = "head") -> None:
    """Create or migrate the schema."""
    from lojal.db.migrate import upgrade

    engine = make_engine(settings(database_url).database_url)
    upgrade(engine, revision)
    engine.dispose()
    console.print(f"database at [bold]{revision}[/bold]")


# ------------------------------------------------------------------ program


@program_app.command("apply")
def program_apply(file: Path, database_url: DbOption = None) -> None:
    """Apply a programme file (YAML or JSON)."""
    from lojal.program import service

    text = file.read_text(encoding="utf-8")
    config = service.parse(text)
    with session_for(database_url) as session:
        program = service.apply(session, config=config, source=text, now=SystemClock().now())
        console.print(f"programme [bold]{config.name}[/bold] at version {program.version}")


@program_app.command("show")
def program_show(database_url: DbOption = None) -> None:
    """Print the programme as it was applied."""
    from lojal.program import service

    with session_for(database_url) as session:
        source = service.get(session).source
    # As it was applied, byte for byte: a console would wrap long lines to its width
    sys.stdout.write(source if source.endswith("\n") else source + "\n")


# ------------------------------------------------------------------ members


@members_app.command("find")
def members_find(
    value: str,
    kind: Annotated[str, typer.Option(help="email, phone, card or external_id")] = "email",
    database_url: DbOption = None,
) -> None:
    """Find a member by an identity and show them with their points."""
    from lojal.ledger import queries as ledger_queries
    from lojal.members import service
    from lojal.program import service as program

    with session_for(database_url) as session:
        region = program.current(session).phone_region
        member = service.find(session, kind=kind, value=value, region=region)
        read = service.to_read(session, member)
        balance = ledger_queries.balance_now(session, member.id, now=SystemClock().now())
        data = read.model_dump(mode="json")
        data["points"] = {
            "available": balance.available,
            "pending": balance.pending,
            "lifetime_earned": balance.lifetime_earned,
        }
        console.print_json(json.dumps(data))


@members_app.command("enrol")
def members_enrol(
    email: str | None = None,
    phone: str | None = None,
    card: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    channel: str = "store",
    database_url: DbOption = None,
) -> None:
    """Enrol a member."""
    from lojal import enrolment
    from lojal.members.schemas import MemberCreate
    from lojal.program import service as program

    data = MemberCreate.model_validate(
        {
            "channel": channel,
            "email": email,
            "phone": phone,
            "card_number": card,
            "first_name": first_name,
            "last_name": last_name,
        }
    )
    with session_for(database_url) as session:
        member = enrolment.enrol(
            session,
            data=data,
            now=SystemClock().now(),
            region=program.current(session).phone_region,
        )
        console.print(f"member {member.id} enrolled, card {member.identity('card')}")


@members_app.command("merge")
def members_merge(into_id: int, from_id: int, database_url: DbOption = None) -> None:
    """Merge member FROM_ID into INTO_ID: everything of FROM_ID becomes INTO_ID's (identities,
    activity, points, tier, membership, referrals, challenges, badges, coupons, rewards)."""
    from lojal.members import merging

    with session_for(database_url) as session:
        merged = merging.merge(session, into_id=into_id, from_id=from_id, now=SystemClock().now())
        console.print(f"member {from_id} merged into {into_id}")
        for part, what in merged.moved.items():
            listed = ", ".join(f"{k} {v}" for k, v in what.items())
            console.print(f"  {part}: {listed}", markup=False, highlight=False)


@members_app.command("close")
def members_close(member_id: int, database_url: DbOption = None) -> None:
    """Close a membership (remaining points are forfeited)."""
    from lojal.members import service

    with session_for(database_url) as session:
        service.close(session, member_id=member_id, now=SystemClock().now())
        console.print(f"member {member_id} closed")


# ------------------------------------------------------------------ keys


@keys_app.command("create")
def keys_create(
    name: str,
    scope: Annotated[list[str], typer.Option(help="admin, integration or pos")] = ["admin"],  # noqa: B006
    database_url: DbOption = None,
) -> None:
    """Create an API key; the key is printed once."""
    from lojal.staff import service

    cfg = settings(database_url)
    with session_for(database_url) as session:
        row, key = service.create_key(
            session, name=name, scopes=scope, pepper=cfg.api_key_pepper, now=SystemClock().now()
        )
    console.print(f"API key for [bold]{row.name}[/bold] ({row.scopes}):")
    print(key)


@keys_app.command("revoke")
def keys_revoke(prefix: str, database_url: DbOption = None) -> None:
    """Revoke an API key by its prefix (the part after 'lojal_')."""
    from lojal.staff import service

    with session_for(database_url) as session:
        service.revoke(session, prefix=prefix, now=SystemClock().now())
    console.print(f"key {prefix} revoked")


# ------------------------------------------------------------------ jobs and ledger


@jobs_app.command("run")
def jobs_run(database_url: DbOption = None) -> None:
    """Activate points whose pending period is over, expire points past their date, end paid
    memberships that were not renewed and review tiers whose period is over. Safe to run
    twice, and from cron."""
    from lojal.jobs.service import run_due

    engine = open_database(database_url)
    try:
        summary = run_due(
            make_session_factory(engine),
            clock=SystemClock(),
            ttl_hours=settings(database_url).idempotency_ttl_hours,
        )
    finally:
        engine.dispose()
    for label, count in summary.lines():
        console.print(f"{label}: {count}")


@ledger_app.command("verify")
def ledger_verify(database_url: DbOption = None) -> None:
    """Check that every entry balances and every balance equals the sum of its postings."""
    from lojal.ledger import service

    with session_for(database_url) as session:
        problems = service.verify(session)
    for problem in problems:
        err.print(problem)
    if problems:
        raise typer.Exit(1)
    console.print("ledger verified: every entry balances, every balance is its postings' sum")


def _table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title)
    table.add_column("what")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(k, v)
    return table


# ------------------------------------------------------------------ imports and demo
from lojal.imports.cli import register as _register_imports  # noqa: E402

_register_imports(import_app)
from lojal.demo.cli import register as _register_demo  # noqa: E402

_register_demo(app)
from lojal.summary.cli import register as _register_summary  # noqa: E402

_register_summary(members_app)
from lojal.referrals.cli import register as _register_referrals  # noqa: E402

_register_referrals(app)
from lojal.tiers.cli import register as _register_tiers  # noqa: E402

_register_tiers(app)
from lojal.memberships.cli import register as _register_memberships  # noqa: E402

_register_memberships(app)
from lojal.badges.cli import register as _register_badges  # noqa: E402
from lojal.challenges.cli import register as _register_challenges  # noqa: E402

_register_challenges(app)
_register_badges(app)
from lojal.coupons.cli import register as _register_coupons  # noqa: E402

_register_coupons(app)
from lojal.rewards.cli import register as _register_rewards  # noqa: E402

_register_rewards(app)
from lojal.pages.cli import app as _staff_app  # noqa: E402

app.add_typer(_staff_app, name="staff")
from lojal.segments.cli import register as _register_segments  # noqa: E402

_register_segments(app)
