"""``lojal plans`` and ``lojal memberships``: paid membership plans and members' memberships."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, option_time, session_for
from lojal.i18n import format_money
from lojal.memberships import service
from lojal.memberships.schemas import PaymentCreate, PlanCreate
from lojal.terminal import print_table


def register(app: typer.Typer) -> None:
    plans_app = typer.Typer(help="Paid membership plans.")
    memberships_app = typer.Typer(help="Members' paid memberships.")
    app.add_typer(plans_app, name="plans", no_args_is_help=True)
    app.add_typer(memberships_app, name="memberships", no_args_is_help=True)

    @plans_app.command("create")
    def create(
        ctx: typer.Context,
        code: str,
        name: Annotated[str, typer.Option()],
        price_minor: Annotated[int, typer.Option(help="price per interval, in minor units")],
        interval: Annotated[str, typer.Option(help="year or month")] = "year",
        tier: Annotated[str | None, typer.Option(help="the tier the plan gives")] = None,
        description: Annotated[str | None, typer.Option()] = None,
        database_url: DbOption = None,
    ) -> None:
        """Create a plan (in the club's currency)."""
        data = PlanCreate.model_validate(
            {
                "code": code,
                "name": name,
                "price_minor": price_minor,
                "interval": interval,
                "tier": tier,
                "description": description,
            }
        )
        with session_for(ctx, database_url) as session:
            plan = service.create_plan(session, data=data, now=SystemClock().now())
            price = format_money(plan.price_minor, plan.currency)
            console.print(f"plan {plan.code} created: {price}")

    @plans_app.command("list")
    def list_plans(
        ctx: typer.Context,
        include_retired: Annotated[bool, typer.Option("--all")] = False,
        database_url: DbOption = None,
    ) -> None:
        """The plans (active ones, or --all)."""
        table = Table("code", "name", "price", "tier", "status")
        with session_for(ctx, database_url) as session:
            for plan in service.list_plans(session, include_retired=include_retired):
                price = f"{format_money(plan.price_minor, plan.currency)}/{plan.interval}"
                table.add_row(plan.code, plan.name, price, plan.tier or "-", plan.status)
        print_table(console, table)

    @plans_app.command("retire")
    def retire(ctx: typer.Context, code: str, database_url: DbOption = None) -> None:
        """Retire a plan: no new memberships; active ones can still renew."""
        with session_for(ctx, database_url) as session:
            service.retire_plan(session, code=code, now=SystemClock().now())
            console.print(f"plan {code} retired")

    @memberships_app.command("show")
    def show(ctx: typer.Context, member_id: int, database_url: DbOption = None) -> None:
        """A member's membership and its history."""
        with session_for(ctx, database_url) as session:
            console.print_json(service.of_member(session, member_id=member_id).model_dump_json())

    @memberships_app.command("pay")
    def pay(
        ctx: typer.Context,
        member_id: int,
        plan: str,
        reference: Annotated[str, typer.Option(help="the payment's reference (natural key)")],
        amount_minor: Annotated[int, typer.Option()],
        currency: Annotated[str, typer.Option()],
        paid_at: Annotated[datetime | None, typer.Option()] = None,
        database_url: DbOption = None,
    ) -> None:
        """Record a membership fee paid outside the API (starts or renews)."""
        data = PaymentCreate.model_validate(
            {
                "plan": plan,
                "reference": reference,
                "amount_minor": amount_minor,
                "currency": currency,
                "paid_at": option_time(paid_at, "--paid-at"),
            }
        )
        with session_for(ctx, database_url) as session:
            _, membership, created = service.record_payment(
                session, member_id=member_id, data=data, now=SystemClock().now()
            )
            what = "recorded" if created else "already recorded"
            console.print(
                f"payment {reference} {what}; membership renews at {membership.renews_at:%Y-%m-%d}"
            )

    @memberships_app.command("cancel")
    def cancel(ctx: typer.Context, member_id: int, database_url: DbOption = None) -> None:
        """Cancel a membership (it lasts until the end of the paid period)."""
        with session_for(ctx, database_url) as session:
            membership = service.cancel(session, member_id=member_id, now=SystemClock().now())
            console.print(f"membership ends at {membership.renews_at:%Y-%m-%d}")
