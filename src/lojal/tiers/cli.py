"""``lojal tiers``: the club's tiers, a member's tier and history, staff decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from lojal import reactions
from lojal.clock import SystemClock
from lojal.commands import DbOption, console, option_time, session_for
from lojal.tiers import queries, service
from lojal.tiers.schemas import ManualTierChange


def register(app: typer.Typer) -> None:
    tiers_app = typer.Typer(help="Tiers: levels, a member's tier, staff decisions.")
    app.add_typer(tiers_app, name="tiers", no_args_is_help=True)

    @tiers_app.command("list")
    def list_tiers(ctx: typer.Context, database_url: DbOption = None) -> None:
        """The club's tiers, lowest first."""
        with session_for(ctx, database_url) as session:
            console.print_json(service.definitions(session).model_dump_json())

    @tiers_app.command("show")
    def show(ctx: typer.Context, member_id: int, database_url: DbOption = None) -> None:
        """A member's tier and progress: the next tier, and what keeps the current one."""
        with session_for(ctx, database_url) as session:
            result = queries.progress(session, member_id=member_id, now=SystemClock().now())
            console.print_json(result.model_dump_json())

    @tiers_app.command("history")
    def history(ctx: typer.Context, member_id: int, database_url: DbOption = None) -> None:
        """Every change of a member's tier, newest first."""
        with session_for(ctx, database_url) as session:
            for row in queries.history(session, member_id=member_id, limit=500):
                console.print(
                    f"{row.effective_at:%Y-%m-%d %H:%M} {row.from_tier or '-'} → "
                    f"{row.to_tier or '-'} ({row.reason})"
                )

    @tiers_app.command("set")
    def set_tier(
        ctx: typer.Context,
        member_id: int,
        tier: Annotated[str, typer.Argument(help="a tier code, or 'none'")],
        reason: Annotated[str, typer.Option(help="why (kept in the history)")],
        until: Annotated[
            datetime | None, typer.Option(help="keep the tier until then, then review it")
        ] = None,
        database_url: DbOption = None,
    ) -> None:
        """Put a member in a tier (a staff decision, recorded with its reason)."""
        change = ManualTierChange.model_validate(
            {
                "tier": None if tier == "none" else tier,
                "reason": reason,
                "until": option_time(until, "--until"),
            }
        )
        with session_for(ctx, database_url) as session:
            now = SystemClock().now()
            caused = service.set_tier(
                session, member_id=member_id, change=change, now=now, actor="cli"
            )
            reactions.after_events(session, caused, now)
            result = queries.progress(session, member_id=member_id, now=now)
            console.print(
                f"member {member_id} is in tier {result.tier.code if result.tier else 'none'}"
            )
