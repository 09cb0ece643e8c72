"""``lojal members find|enrol|merge|close`` (``lojal members summary`` is the summary's)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from lojal import enrolment
from lojal.clock import SystemClock
from lojal.commands import DbOption, console, session_for
from lojal.ledger import queries as ledger_queries
from lojal.members import merging, service
from lojal.members.schemas import MemberCreate
from lojal.program import service as program

members_app = typer.Typer(help="Find, enrol, merge and close members.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(members_app, name="members")


@members_app.command("find")
def find(
    ctx: typer.Context,
    value: str,
    kind: Annotated[str, typer.Option(help="email, phone, card or external_id")] = "email",
    database_url: DbOption = None,
) -> None:
    """Find a member by an identity and show them with their points."""
    with session_for(ctx, database_url) as session:
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
def enrol(
    ctx: typer.Context,
    email: str | None = None,
    phone: str | None = None,
    card: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    channel: str = "store",
    database_url: DbOption = None,
) -> None:
    """Enrol a member."""
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
    with session_for(ctx, database_url) as session:
        member = enrolment.enrol(
            session,
            data=data,
            now=SystemClock().now(),
            region=program.current(session).phone_region,
        )
        console.print(f"member {member.id} enrolled, card {member.identity('card')}")


@members_app.command("merge")
def merge(ctx: typer.Context, into_id: int, from_id: int, database_url: DbOption = None) -> None:
    """Merge member FROM_ID into INTO_ID: everything of FROM_ID becomes INTO_ID's (identities,
    activity, points, tier, membership, referrals, challenges, badges, coupons, rewards)."""
    with session_for(ctx, database_url) as session:
        merged = merging.merge(session, into_id=into_id, from_id=from_id, now=SystemClock().now())
        console.print(f"member {from_id} merged into {into_id}")
        for part, what in merged.moved.items():
            listed = ", ".join(f"{k} {v}" for k, v in what.items())
            console.print(f"  {part}: {listed}", markup=False, highlight=False)


@members_app.command("close")
def close(ctx: typer.Context, member_id: int, database_url: DbOption = None) -> None:
    """Close a membership (remaining points are forfeited)."""
    with session_for(ctx, database_url) as session:
        service.close(session, member_id=member_id, now=SystemClock().now())
        console.print(f"member {member_id} closed")
