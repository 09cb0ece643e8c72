"""``lojal worker``: run the jobs and the schedule; see what waits, what died; retry it."""

from __future__ import annotations

import signal
from datetime import timedelta
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lojal.clock import SystemClock
from lojal.commands import DbOption, open_database, session_for, settings
from lojal.db.session import make_session_factory
from lojal.terminal import print_table
from lojal.worker import queue
from lojal.worker.kinds import Context
from lojal.worker.registry import handlers
from lojal.worker.runner import Worker
from lojal.worker.schedule import Schedule

console = Console()


def register(app: typer.Typer) -> None:
    worker_app = typer.Typer(
        help="The worker: jobs (messages, webhooks, ...) and the schedule.", no_args_is_help=True
    )
    app.add_typer(worker_app, name="worker")

    @worker_app.command("run")
    def run(
        command: typer.Context,
        database_url: DbOption = None,
        batch: Annotated[int, typer.Option(min=1, max=10_000, help="jobs per claim")] = 200,
        lease: Annotated[float, typer.Option(min=1, help="seconds a claim holds its jobs")] = 60.0,
        idle: Annotated[float, typer.Option(min=0.01, help="seconds to wait when idle")] = 0.5,
        once: Annotated[bool, typer.Option(help="stop when no job is due")] = False,
        schedule: Annotated[bool, typer.Option(help="also run the club's schedule")] = True,
        max_seconds: Annotated[float | None, typer.Option(help="stop after this long")] = None,
    ) -> None:
        """Run due jobs until stopped (Ctrl-C or SIGTERM end the batch in hand first), and the
        club's schedule: points activation and expiry, tier reviews, memberships, referrals,
        ... every 5 minutes. Run one or more; on PostgreSQL they share the work."""

        engine = open_database(command, database_url)
        ctx = Context(make_session_factory(engine), SystemClock(), settings(command, database_url))
        plan = Schedule() if schedule else None
        worker = Worker(
            ctx.factory,
            ctx.clock,
            handlers(ctx, plan),
            batch=batch,
            lease=timedelta(seconds=lease),
            schedule=plan,
        )

        def stop(signum: int, frame: FrameType | None) -> None:
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            total = worker.run(idle=idle, until_idle=once, max_seconds=max_seconds)
        finally:
            worker.close()
            engine.dispose()
        console.print(
            f"jobs claimed: {total.claimed}, done: {total.done}, retried: {total.retried}, "
            f"deferred: {total.deferred}, dead: {total.dead}"
        )

    @worker_app.command("status")
    def status(command: typer.Context, database_url: DbOption = None) -> None:
        """Per kind of job: queued (and due now), running, done, dead; the oldest due."""

        now = SystemClock().now()
        with session_for(command, database_url) as session:
            rows = queue.status(session, now=now)
        table = _table("jobs", "kind", "queued", "due", "running", "done", "dead", "oldest due")
        for r in rows:
            wait = "-" if r.oldest_due is None else f"{(now - r.oldest_due).total_seconds():.0f} s"
            table.add_row(
                r.kind, str(r.queued), str(r.due), str(r.running), str(r.done), str(r.dead), wait
            )
        print_table(console, table)

    @worker_app.command("dead")
    def dead(
        command: typer.Context,
        database_url: DbOption = None,
        kind: Annotated[str | None, typer.Option(help="only jobs of this kind")] = None,
        limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    ) -> None:
        """Dead letters, newest first: id, kind, tries, when, and why."""

        with session_for(command, database_url) as session:
            jobs = queue.dead(session, kind=kind, limit=limit)
        table = _table("dead jobs", "id", "kind", "tries", "died", "reason")
        for job in jobs:
            died = job.finished_at.isoformat(timespec="seconds") if job.finished_at else "-"
            table.add_row(str(job.id), job.kind, str(job.attempts), died, job.last_error or "")
        print_table(console, table)

    @worker_app.command("retry")
    def retry(
        command: typer.Context,
        job_id: Annotated[int | None, typer.Argument(help="the dead job's id")] = None,
        all_dead: Annotated[bool, typer.Option("--all", help="every dead job")] = False,
        kind: Annotated[str | None, typer.Option(help="with --all: of this kind")] = None,
        database_url: DbOption = None,
    ) -> None:
        """Put a dead job (or, with --all, every dead job) back in the queue, due now."""

        if (job_id is None) == (not all_dead):
            raise typer.BadParameter("give a job id or --all", param_hint="JOB_ID")
        now = SystemClock().now()
        with session_for(command, database_url) as session:
            if job_id is not None:
                job = queue.retry(session, job_id=job_id, now=now)
                console.print(f"job {job.id} ({job.kind}) queued again")
            else:
                n = queue.retry_dead(session, now=now, kind=kind)
                console.print(f"{n} dead jobs queued again")


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    return table
