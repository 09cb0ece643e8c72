"""``lojal journeys``: add journeys from a file, list and show them, switch them on and off,
their figures, the channels' caps and quiet hours, the global control group, and the date
sweep."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, session_factory, session_for
from lojal.i18n import format_money
from lojal.insight.lift import DEFAULT_CONFIDENCE
from lojal.journeys import queries, service
from lojal.journeys.schemas import ControlWrite, IntervalRead, PolicyWrite
from lojal.journeys.tasks import sweep_dates
from lojal.terminal import print_table

JourneyArg = Annotated[str, typer.Argument(help="the journey's code or id")]


def _interval(interval: IntervalRead | None, scale: float, unit: str, level: str) -> str:
    if interval is None:
        return " (no interval: too few members)"
    return f", {level} interval {interval.low * scale:+.2f} to {interval.high * scale:+.2f}{unit}"


def _percent(relative: float | None) -> str:
    return "relative lift undefined" if relative is None else f"{relative:+.1%} relative"


def register(app: typer.Typer) -> None:
    journeys_app = typer.Typer(
        help="Journeys: what the club does for each member when something happens.",
        no_args_is_help=True,
    )
    app.add_typer(journeys_app, name="journeys")

    @journeys_app.command("add")
    def add(
        command: typer.Context,
        file: Annotated[Path, typer.Argument(help="YAML or JSON: a list of journeys")],
        enable: Annotated[bool, typer.Option(help="switch them on at once")] = False,
        database_url: DbOption = None,
    ) -> None:
        """Add the journeys of a file (a journey whose code exists is replaced), and the
        channels' policies it sets; all or nothing."""
        text = file.read_text(encoding="utf-8")
        definitions, policies = service.parse_file(text)
        now = SystemClock().now()
        with session_for(command, database_url) as session:
            done = service.apply(session, definitions=definitions, now=now, enable=enable)
            for policy in policies:
                service.set_policy(session, data=policy, now=now)
            for journey in done:
                state = "on" if journey.enabled else "off"
                console.print(f"{journey.id}\t{journey.code}\t{journey.trigger_kind}\t{state}")
        console.print(f"{len(done)} journeys saved, {len(policies)} channel policies set")

    @journeys_app.command("list")
    def list_(command: typer.Context, database_url: DbOption = None) -> None:
        """Every journey: id, code, trigger, on or off, holdout, name."""
        table = Table("id", "code", "trigger", "on", "holdout %", "name")
        with session_for(command, database_url) as session:
            for j in queries.list_journeys(session):
                table.add_row(
                    str(j.id),
                    j.code,
                    j.trigger_kind,
                    "yes" if j.enabled else "no",
                    str(j.holdout_percent),
                    j.name,
                )
        print_table(console, table)

    @journeys_app.command("show")
    def show(command: typer.Context, journey: JourneyArg, database_url: DbOption = None) -> None:
        """A journey with its definition."""
        with session_for(command, database_url) as session:
            found = queries.get(session, journey)
            console.print_json(queries.journey_read(found).model_dump_json())

    @journeys_app.command("enable")
    def enable(command: typer.Context, journey: JourneyArg, database_url: DbOption = None) -> None:
        """Switch a journey on."""
        with session_for(command, database_url) as session:
            found = service.set_enabled(
                session, journey=journey, enabled=True, now=SystemClock().now()
            )
            console.print(f"journey {found.code} is on")

    @journeys_app.command("disable")
    def disable(command: typer.Context, journey: JourneyArg, database_url: DbOption = None) -> None:
        """Switch a journey off: nobody new enters; runs under way finish."""
        with session_for(command, database_url) as session:
            found = service.set_enabled(
                session, journey=journey, enabled=False, now=SystemClock().now()
            )
            console.print(f"journey {found.code} is off")

    @journeys_app.command("figures")
    def figures(
        command: typer.Context,
        journey: JourneyArg,
        as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False,
        confidence: Annotated[
            float, typer.Option(min=0.5, max=0.999, help="the intervals' confidence level")
        ] = DEFAULT_CONFIDENCE,
        database_url: DbOption = None,
    ) -> None:
        """Entered, sent, delivered, opened, clicked, converted, revenue; treated and held
        out, and the lift with its confidence interval."""
        with session_for(command, database_url) as session:
            found = queries.get(session, journey)
            done = queries.figures(session, found, now=SystemClock().now(), confidence=confidence)
        if as_json:
            console.print_json(done.model_dump_json())
            return
        table = Table("figure", "value")
        for name in (
            "entered",
            "active",
            "held_out",
            "global_control",
            "exempt",
            "sent",
            "delivered",
            "suppressed",
            "failed",
            "queued",
            "opened",
            "clicked",
            "converted",
        ):
            table.add_row(name, str(getattr(done, name)))
        table.add_row("revenue", format_money(done.revenue_minor, done.currency))
        for group, values in (("treated", done.treated), ("held out", done.control)):
            table.add_row(
                group,
                f"{values.runs} runs, {values.converted} converted, {values.purchases} "
                f"purchases, {format_money(values.revenue_minor, done.currency)}",
            )
        lift = done.lift
        if lift is None:
            table.add_row("lift", "needs treated and held-out members")
        else:
            level = f"{lift.confidence:.0%}"
            conversion = lift.conversion
            table.add_row(
                "conversion lift",
                f"{conversion.difference * 100:+.2f} points"
                f"{_interval(conversion.difference_interval, 100, ' points', level)}"
                f" ({_percent(conversion.relative)})",
            )
            per_member = lift.revenue
            table.add_row(
                "revenue per member",
                f"{per_member.difference:+.2f} {lift.currency}"
                f"{_interval(per_member.difference_interval, 1, ' ' + lift.currency, level)}",
            )
            table.add_row(
                "incremental revenue",
                f"{lift.incremental_revenue:+.2f} {lift.currency}"
                f"{_interval(lift.incremental_revenue_interval, 1, ' ' + lift.currency, level)}",
            )
        print_table(console, table)

    @journeys_app.command("policy")
    def policy(
        command: typer.Context,
        channel: Annotated[str, typer.Argument(help="email, sms, push or inbox")],
        cap: Annotated[
            int | None, typer.Option(help="at most this many marketing messages per member")
        ] = None,
        days: Annotated[int | None, typer.Option(help="... in this many days")] = None,
        quiet: Annotated[
            str | None, typer.Option(help="quiet hours, club time: HH:MM-HH:MM (21:00-08:00)")
        ] = None,
        database_url: DbOption = None,
    ) -> None:
        """Set a channel's frequency cap and quiet hours (an option left out: none)."""
        quiet_from = quiet_until = None
        if quiet is not None:
            if quiet.count("-") != 1:
                raise typer.BadParameter("quiet hours are HH:MM-HH:MM", param_hint="--quiet")
            quiet_from, quiet_until = quiet.split("-")
        try:
            data = PolicyWrite.model_validate(
                {
                    "channel": channel,
                    "cap_messages": cap,
                    "cap_days": days,
                    "quiet_from": quiet_from,
                    "quiet_until": quiet_until,
                }
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc).splitlines()[-1]) from None
        with session_for(command, database_url) as session:
            done = service.set_policy(session, data=data, now=SystemClock().now())
            console.print_json(queries.policy_read(done).model_dump_json())

    @journeys_app.command("control")
    def control(
        command: typer.Context,
        percent: Annotated[
            float | None,
            typer.Option(help="the share of the members held out of every journey (0 to 10)"),
        ] = None,
        drawn_on: Annotated[
            str | None,
            typer.Option(help="draw the buckets anew on this day (YYYY-MM-DD; once a month)"),
        ] = None,
        database_url: DbOption = None,
    ) -> None:
        """Show the global control group, or set its percent or draw it anew."""
        day = None
        if drawn_on is not None:
            try:
                day = date.fromisoformat(drawn_on)
            except ValueError:
                raise typer.BadParameter(
                    f"{drawn_on!r} is not a date (YYYY-MM-DD)", param_hint="--drawn-on"
                ) from None
        now = SystemClock().now()
        with session_for(command, database_url) as session:
            if percent is None and day is None:
                shown = queries.control_read(session, now=now)
            else:
                settings = service.set_control(
                    session, data=ControlWrite(percent=percent, drawn_on=day), now=now
                )
                shown = queries.control_of(settings, queries.active_members(session))
            console.print_json(shown.model_dump_json())

    @journeys_app.command("sweep")
    def sweep(
        command: typer.Context,
        force: Annotated[bool, typer.Option(help="also journeys swept today")] = False,
        database_url: DbOption = None,
    ) -> None:
        """Enter today's members into the journeys with a date trigger (the worker does this
        on its schedule); nobody enters twice."""
        with session_factory(command, database_url) as factory:
            done = sweep_dates(factory, now=SystemClock().now(), force=force)
        console.print_json(json.dumps({"journeys": done.journeys, "entered": done.entered}))
