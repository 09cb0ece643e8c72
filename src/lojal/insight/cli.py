"""``lojal insight``: the stored figures in the terminal (or as JSON) — RFM, CLV, churn risk,
the top customers — the refit that replaces them, and the holdout backtest."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, option_day, session_for
from lojal.i18n import format_money, minor_units
from lojal.insight import queries, recommendations, service, tasks
from lojal.insight.baskets import Level
from lojal.insight.schemas import FitRead, MemberInsight, Model, RefitRequest
from lojal.terminal import print_table

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


def _money(major: float, currency: str) -> str:
    return format_money(round(major * 10 ** minor_units(currency)), currency)


def _fit_line(fit: FitRead) -> str:
    return (
        f"as of {fit.as_of} (fitted {fit.fitted_at:%Y-%m-%d %H:%M} UTC, {fit.model}, "
        f"{fit.members} members, {fit.months} months at {fit.monthly_discount:.2%} a month)"
    )


def _members_table(title: str, rows: list[MemberInsight], currency: str) -> Table:
    table = Table(title=f"{title} ({currency})")
    for column in ("member", "group", "R", "F", "M", "revenue", "p alive", "CLV", "simple"):
        table.add_column(column, justify="left" if column in ("member", "group") else "right")
    for m in rows:
        table.add_row(
            str(m.member_id),
            m.group,
            str(m.r),
            str(m.f),
            str(m.m),
            f"{m.revenue:,.2f}",
            f"{m.p_alive:.2f}",
            f"{m.clv:,.2f}",
            f"{m.simple_clv:,.2f}",
        )
    return table


def register(app: typer.Typer) -> None:
    insight_app = typer.Typer(
        help="Customer insight: RFM, lifetime value, churn risk, top customers.",
        no_args_is_help=True,
    )
    app.add_typer(insight_app, name="insight")
    register_recommendations(insight_app)

    @insight_app.command("refit")
    def refit(
        ctx: typer.Context,
        as_of: Annotated[str | None, typer.Option(help="as of this local day (yesterday)")] = None,
        model: Annotated[Model | None, typer.Option(help="the purchase model")] = None,
        months: Annotated[int | None, typer.Option(min=1, max=120, help="CLV horizon")] = None,
        discount: Annotated[
            float | None, typer.Option(min=0, max=1, help="monthly discount rate (0.01)")
        ] = None,
        retention_years: Annotated[
            float | None, typer.Option(min=0.01, max=100, help="the simple CLV's retention")
        ] = None,
        database_url: DbOption = None,
    ) -> None:
        """Refit the models and replace every member's stored figures (one transaction);
        the segments that read them are re-evaluated with them."""
        request = RefitRequest(
            as_of=option_day(as_of, "--as-of"),
            model=model,
            months=months,
            monthly_discount=discount,
            retention_years=retention_years,
        )
        with session_for(ctx, database_url) as session:
            done = tasks.refit(session, now=SystemClock().now(), request=request)
            line = done.line()
        console.print(line)

    @insight_app.command("rfm")
    def rfm(ctx: typer.Context, as_json: JsonOption = False, database_url: DbOption = None) -> None:
        """The RFM grid (members and revenue per cell) and the named groups."""
        with session_for(ctx, database_url) as session:
            result = queries.rfm(session)
        if as_json:
            console.print_json(result.model_dump_json())
            return
        c = result.currency
        grid = Table(title=f"RFM grid: members, revenue ({c}) — {_fit_line(result.fit)}")
        grid.add_column("R \\ FM")
        for fm in range(1, 6):
            grid.add_column(str(fm), justify="right")
        for r in range(5, 0, -1):
            cells = [cell for cell in result.grid if cell.r == r]
            grid.add_row(str(r), *(f"{cell.members}\n{cell.revenue:,.2f}" for cell in cells))
        print_table(console, grid)
        groups = Table(title=f"RFM groups ({c})")
        for column in ("group", "members", "% members", "revenue", "% revenue"):
            groups.add_column(column, justify="left" if column == "group" else "right")
        for g in result.groups:
            groups.add_row(
                g.group,
                str(g.members),
                f"{g.share_of_members:.1%}",
                f"{g.revenue:,.2f}",
                f"{g.share_of_revenue:.1%}",
            )
        print_table(console, groups)
        console.print(f"{result.members} members, {_money(result.revenue, c)}")

    @insight_app.command("clv")
    def clv(
        ctx: typer.Context,
        highest: Annotated[int, typer.Option(min=0, max=1000, help="top members shown")] = 10,
        as_json: JsonOption = False,
        database_url: DbOption = None,
    ) -> None:
        """Lifetime value: in total, by RFM group, and the members with the highest."""
        with session_for(ctx, database_url) as session:
            result = queries.clv(session, highest=highest)
        if as_json:
            console.print_json(result.model_dump_json())
            return
        c = result.currency
        table = Table(title=f"CLV by RFM group ({c}) — {_fit_line(result.fit)}")
        for column in ("group", "members", "CLV", "mean CLV", "simple CLV", "p alive", "exp."):
            table.add_column(column, justify="left" if column == "group" else "right")
        for g in result.groups:
            table.add_row(
                g.group,
                str(g.members),
                f"{g.clv:,.2f}",
                f"{g.mean_clv:,.2f}",
                f"{g.simple_clv:,.2f}",
                f"{g.mean_p_alive:.2f}",
                f"{g.expected_purchases:,.1f}",
            )
        print_table(console, table)
        if result.highest:
            print_table(console, _members_table("Highest CLV", result.highest, c))
        console.print(
            f"{result.members} members: CLV {_money(result.clv, c)} "
            f"(mean {_money(result.mean_clv, c)}), simple CLV {_money(result.simple_clv, c)}, "
            f"{result.expected_purchases:,.0f} purchases expected"
        )

    @insight_app.command("churn")
    def churn(
        ctx: typer.Context,
        threshold: Annotated[float, typer.Option(min=0, max=1, help="at risk from")] = 0.5,
        limit: Annotated[int, typer.Option(min=0, max=1000)] = 10,
        as_json: JsonOption = False,
        database_url: DbOption = None,
    ) -> None:
        """Members by churn risk, and the at-risk members who spent the most."""
        with session_for(ctx, database_url) as session:
            result = queries.churn(session, threshold=threshold, limit=limit)
        if as_json:
            console.print_json(result.model_dump_json())
            return
        c = result.currency
        table = Table(title=f"Churn risk ({c}) — {_fit_line(result.fit)}")
        for column in ("risk", "members", "revenue", "CLV"):
            table.add_column(column, justify="right")
        for b in result.bands:
            table.add_row(
                f"{b.low:.2f}–{b.high:.2f}", str(b.members), f"{b.revenue:,.2f}", f"{b.clv:,.2f}"
            )
        print_table(console, table)
        if result.most_valuable_at_risk:
            print_table(
                console, _members_table("Most valuable at risk", result.most_valuable_at_risk, c)
            )
        console.print(
            f"{result.at_risk} of {result.members} members at risk (≥ {threshold:.2f}), who "
            f"spent {_money(result.at_risk_revenue, c)}"
        )

    @insight_app.command("top")
    def top(
        ctx: typer.Context,
        share: Annotated[float, typer.Option(min=0.001, max=0.999, help="the top share")] = 0.1,
        as_json: JsonOption = False,
        database_url: DbOption = None,
    ) -> None:
        """The top share of members by revenue, and members against non-members."""
        with session_for(ctx, database_url) as session:
            result = queries.top(session, share=share)
        if as_json:
            console.print_json(result.model_dump_json())
            return
        c = result.currency
        times = "—" if result.times_rest is None else f"{result.times_rest:.1f}×"
        console.print(f"Top customers {_fit_line(result.fit)}")
        console.print(
            f"the top {share:.0%} ({result.members} of {result.of_members} members) bring "
            f"{result.revenue_share:.1%} of the members' revenue and spend {times} the rest "
            f"on average ({_money(result.top_mean, c)} against {_money(result.rest_mean, c)})"
        )
        if result.non_member_purchases:
            member_share = result.member_share_of_sales or 0.0
            console.print(
                f"members: {result.member_purchases} purchases, {_money(result.member_revenue, c)}"
                f" ({member_share:.1%} of sales); non-members: {result.non_member_purchases} "
                f"purchases, {_money(result.non_member_revenue, c)}"
            )

    @insight_app.command("backtest")
    def backtest(
        ctx: typer.Context,
        calibration_end: Annotated[str, typer.Option(help="the last local day fitted on")],
        holdout_end: Annotated[
            str | None, typer.Option(help="the last local day predicted (yesterday)")
        ] = None,
        model: Annotated[Model, typer.Option(help="the purchase model")] = "bgnbd",
        as_json: JsonOption = False,
        database_url: DbOption = None,
    ) -> None:
        """Fit on the history up to --calibration-end, predict the purchases to
        --holdout-end, and compare with what the members did."""
        first = option_day(calibration_end, "--calibration-end")
        assert first is not None
        with session_for(ctx, database_url) as session:
            result = service.backtest(
                session,
                now=SystemClock().now(),
                calibration_end=first,
                holdout_end=option_day(holdout_end, "--holdout-end"),
                model=model,
            )
        if as_json:
            console.print_json(result.model_dump_json())
            return
        table = Table(
            title=f"Backtest: {result.model} fitted to {result.calibration_end}, "
            f"predicting to {result.holdout_end} ({result.holdout_weeks:.1f} weeks)"
        )
        for column in ("repeat purchases", "members", "actual", "predicted", "MAE"):
            table.add_column(column, justify="right")
        for g in result.groups:
            table.add_row(
                g.label, str(g.members), f"{g.actual:,.0f}", f"{g.predicted:,.1f}", f"{g.mae:.2f}"
            )
        table.add_row(
            "total",
            str(result.members),
            f"{result.actual:,.0f}",
            f"{result.predicted:,.1f}",
            f"{result.mae:.2f}",
            end_section=True,
        )
        print_table(console, table)
        error = "—" if result.error_pct is None else f"{result.error_pct:+.1f} %"
        console.print(
            f"{result.members} members: {result.actual:,.0f} purchase days in the holdout, "
            f"{result.predicted:,.1f} predicted ({error}); mean absolute error "
            f"{result.mae:.2f} a member"
        )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def register_recommendations(insight_app: typer.Typer) -> None:
    @insight_app.command("recommend")
    def recommend(
        ctx: typer.Context,
        member: Annotated[int, typer.Argument(min=1, help="the member's id")],
        k: Annotated[int, typer.Option(min=1, max=50, help="how many items")] = 5,
        as_json: JsonOption = False,
        database_url: DbOption = None,
    ) -> None:
        """A member's next-best offer for today: buy again, bought together, popular."""
        with session_for(ctx, database_url) as session:
            result = recommendations.for_member(
                session, member_id=member, now=SystemClock().now(), k=k
            )
        if as_json:
            console.print_json(result.model_dump_json())
            return
        fitted = result.fitted_as_of or "no refit yet"
        table = Table(title=f"Member {result.member_id}, {result.as_of} (items as of {fitted})")
        for column in ("sku", "name", "why", "score"):
            table.add_column(column, justify="right" if column == "score" else "left")
        for item in result.items:
            why = {
                "buy_again": f"buy again (due {item.due_on})",
                "bought_together": f"goes with {item.because_name or item.because}",
                "popular": "popular",
            }[item.kind]
            table.add_row(item.sku, item.name or "", why, f"{item.score:.3f}")
        print_table(console, table)

    @insight_app.command("evaluate-recommendations")
    def evaluate(
        ctx: typer.Context,
        k: Annotated[int, typer.Option(min=1, max=50, help="items per member")] = 5,
        level: Annotated[Level, typer.Option(help="items are skus or categories")] = "sku",
        until: Annotated[str | None, typer.Option(help="the last local day read")] = None,
        timing: Annotated[
            bool, typer.Option("--timing", help="who buys again after --calibration-end")
        ] = False,
        calibration_end: Annotated[
            str | None, typer.Option(help="with --timing: the last day of the calibration")
        ] = None,
        as_json: JsonOption = False,
        database_url: DbOption = None,
    ) -> None:
        """The recommendations against the popularity baseline, each member's last basket
        held out (or, with --timing, who buys again in a holdout period)."""
        end = option_day(until, "--until")
        with session_for(ctx, database_url) as session:
            if timing:
                cut = option_day(calibration_end, "--calibration-end")
                if cut is None:
                    raise typer.BadParameter("give the calibration's end", param_hint="--timing")
                timed = recommendations.evaluate_timing(
                    session, now=SystemClock().now(), calibration_end=cut, holdout_end=end
                )
            else:
                result = recommendations.evaluate(
                    session, now=SystemClock().now(), k=k, level=level, until=end
                )
        if timing:
            if as_json:
                console.print_json(timed.model_dump_json())
                return
            table = Table(
                title=f"Who buys again from {timed.calibration_end} to {timed.holdout_end}: "
                f"{timed.buyers} of {timed.members} members"
            )
            for column in ("ranked by", "AUC", f"precision, top {timed.top_share:.0%}", "recall"):
                table.add_column(column, justify="left" if column == "ranked by" else "right")
            for t in timed.results:
                auc = "-" if t.auc is None else f"{t.auc:.3f}"
                table.add_row(t.method, auc, _share(t.top_precision), _share(t.top_recall))
            print_table(console, table)
            return
        if as_json:
            console.print_json(result.model_dump_json())
            return
        table = Table(
            title=f"Last basket held out, k = {result.k} ({result.level}): {result.members} "
            f"members, {result.items} items, {result.repeat_items} repeat and "
            f"{result.new_items} new held-out items"
        )
        for column in ("method", "hit rate", "recall", "precision", "repeat recall", "new recall"):
            table.add_column(column, justify="left" if column == "method" else "right")
        for r in result.results:
            table.add_row(
                r.method,
                _share(r.hit_rate),
                _share(r.recall),
                _share(r.precision),
                _share(r.repeat_recall),
                _share(r.new_recall),
            )
        print_table(console, table)
