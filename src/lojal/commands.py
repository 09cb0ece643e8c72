"""What every ``lojal`` command shares: the ``--database-url`` option, the settings of the
command, opening the database and a transaction on it, options that are times and days,
reading a YAML or JSON file as a schema, a progress bar, the consoles, and the glue that turns
whatever went wrong into one line and an exit code (what that line says is
``lojal.failures``).

The settings come from one place: the root command's callback (``lojal.cli``) puts an
``Invocation`` in the Typer context (``ctx.obj``); each command takes the context as its first
parameter and passes it on. The command's settings are built once, by ``Settings`` (the only
reader of the ``LOJAL_*`` environment), with the command's options over the environment
(``--database-url`` over ``LOJAL_DATABASE_URL``), when the command first needs them: after its
options are parsed, so an option given on the command line replaces an environment value
rather than failing on it first.

Feature commands (``<feature>/cli.py``) import this module, never ``lojal.cli``, which only
composes the command.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lojal import failures
from lojal.config import Settings
from lojal.db.engine import make_engine
from lojal.db.migrate import require_current
from lojal.db.session import make_session_factory, transaction
from lojal.inputs import find_unstorable, storable_day, storable_time

console = Console()
err = Console(stderr=True)


def env_note(name: str, default: object = None) -> str:
    """The help's note of the setting an option stands for (and of its default), as Typer
    writes it: the setting itself is read by ``Settings``, not by Typer."""
    note = f"\\[env var: {name}]"
    return note if default is None else f"{note} \\[default: {default}]"


DbOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help=f"Database URL (default sqlite:///lojal.db) {env_note('LOJAL_DATABASE_URL')}",
    ),
]
M = TypeVar("M", bound=BaseModel)


@dataclass
class Invocation:
    """What one run of ``lojal`` knows before its command runs (``ctx.obj``): the settings,
    built once from the environment and the options the command gives."""

    _settings: dict[str | None, Settings] = field(default_factory=dict)

    def settings(self, database_url: str | None = None) -> Settings:
        if database_url not in self._settings:
            self._settings[database_url] = (
                Settings() if database_url is None else Settings(database_url=database_url)
            )
        return self._settings[database_url]


def settings(ctx: typer.Context, database_url: str | None = None) -> Settings:
    """The command's settings, with its ``--database-url`` over the environment."""
    return ctx.ensure_object(Invocation).settings(database_url)


def open_database(ctx: typer.Context, database_url: str | None) -> Engine:
    """An engine on a database lojal can work on (``require_current``: it exists, its schema
    is lojal's current one, it answers); otherwise the error says how to fix it."""
    engine = make_engine(settings(ctx, database_url).database_url)
    try:
        require_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def session_factory(
    ctx: typer.Context, database_url: str | None
) -> Iterator[sessionmaker[Session]]:
    """Sessions on the command's database, for work that commits batch by batch."""
    engine = open_database(ctx, database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def proxies(cfg: Settings) -> dict[str, Any]:
    """uvicorn's options for forwarded headers: believed only from ``LOJAL_TRUSTED_PROXIES``
    (uvicorn's own default believes 127.0.0.1, which let a client on the same host name any
    address and slip past the limits kept per address)."""
    trusted = cfg.trusted_proxies.strip()
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or ""}


def actor() -> str:
    """Who runs the command, for the audit trail: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this user id (a container)
        return "cli"


@contextmanager
def session_for(ctx: typer.Context, database_url: str | None) -> Iterator[Session]:
    """The command's one transaction: committed when the block ends, rolled back on error. The
    audit trail names the command's user as who made its changes (``cli:<user>``)."""
    with session_factory(ctx, database_url) as factory, transaction(factory) as session:
        session.info["actor"] = actor()
        yield session


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


def load(file: Path, model: type[M]) -> M:
    """A YAML or JSON file as ``model``; a field that does not fit is named."""
    try:
        data: Any = yaml.safe_load(file.read_text(encoding="utf-8"))
        if (found := find_unstorable(data)) is not None:
            raise typer.BadParameter(f"{file}: {found}")
        return model.model_validate(data)
    except yaml.YAMLError as exc:
        raise typer.BadParameter(f"{file} is not YAML or JSON: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise typer.BadParameter(f"{file}: {problems}") from exc


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on standard error, shown from its first update, so that a file refused
    at the start leaves only the sentence saying why."""
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
    task: list[TaskID] = []

    def update(done: int, total: int) -> None:
        if not task:
            bar.start()
            task.append(bar.add_task(label, total=None))
        bar.update(task[0], completed=done, total=total)

    try:
        yield update
    finally:
        if task:
            bar.stop()


def run(command: Callable[[], Any]) -> None:
    """Run the ``lojal`` command: whatever goes wrong ends in one line and a non-zero exit
    code (``lojal.failures``), never a traceback."""
    try:
        command()
    except Exception as error:
        line, code = failures.explain(error)
        err.print(Text(line or failures.unexpected(error)), soft_wrap=True, highlight=False)
        sys.exit(code)
