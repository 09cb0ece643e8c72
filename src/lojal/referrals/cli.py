"""``lojal referrals report``: the per-advocate report in the terminal (or as JSON)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lojal.commands import DbOption, console, option_day, session_for
from lojal.i18n import format_money
from lojal.referrals import service
from lojal.terminal import print_table


def register(app: typer.Typer) -> None:
    referrals_app = typer.Typer(help="Referrals: who brought whom.", no_args_is_help=True)
    app.add_typer(referrals_app, name="referrals")

    @referrals_app.command("report")
    def report(
        ctx: typer.Context,
        advocate: Annotated[int | None, typer.Option(help="only this advocate (member id)")] = None,
        since: Annotated[str | None, typer.Option(help="referrals made from this day")] = None,
        until: Annotated[str | None, typer.Option(help="... up to this day (inclusive)")] = None,
        limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
        database_url: DbOption = None,
    ) -> None:
        """Referrals per advocate (most first): by status, refusals by reason, points given,
        and what the referees spent."""
        first, last = option_day(since, "--since"), option_day(until, "--until")
        with session_for(ctx, database_url) as session:
            result = service.report(
                session,
                advocate_id=advocate,
                since=first,
                until=last,
                limit=limit,
            )
        if as_json:
            console.print_json(result.model_dump_json())
            return
        table = Table(title=f"Referrals per advocate ({result.currency})")
        for column in (
            "advocate",
            "referrals",
            "pending",
            "qualified",
            "rewarded",
            "refused",
            "capped",
            "voided",
            "points given",
            "pending pts",
            "revenue",
        ):
            table.add_column(column, justify="left" if column == "advocate" else "right")
        for row in [*result.advocates, None]:
            figures = result.totals if row is None else row
            c = figures.counts
            refused = str(c.refused)
            if figures.refused_by_reason:
                refused += (
                    " (" + ", ".join(f"{k} {v}" for k, v in figures.refused_by_reason.items()) + ")"
                )
            table.add_row(
                "total" if row is None else str(row.advocate_id),
                str(figures.referrals),
                str(c.pending),
                str(c.qualified),
                str(c.rewarded),
                refused,
                str(c.capped),
                str(c.voided),
                str(figures.advocate_points_given + figures.referee_points_given),
                str(figures.points_pending),
                format_money(figures.referee_revenue_minor, result.currency, symbol=False),
                end_section=row is not None and row is result.advocates[-1],
            )
        print_table(console, table)
        console.print(
            f"{result.totals.referrals} referrals, {result.totals.counts.rewarded} rewarded, "
            f"{result.totals.counts.refused} refused; referees spent "
            f"{format_money(result.totals.referee_revenue_minor, result.currency)}"
        )
