"""``lojal coupons``: campaigns from a file, bulk generation with a progress bar, export, the
per-campaign report, issuing and checking single codes."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, err, load, progress, session_factory, session_for
from lojal.coupons import codes, queries, redemptions, service, tasks
from lojal.coupons.schemas import CampaignCreate, CouponCheck
from lojal.i18n import format_money
from lojal.program import service as program_service
from lojal.terminal import print_table


def register(app: typer.Typer) -> None:
    coupons_app = typer.Typer(
        help="Coupon campaigns, codes and their report.", no_args_is_help=True
    )
    app.add_typer(coupons_app, name="coupons")

    @coupons_app.command("create")
    def create(ctx: typer.Context, file: Path, database_url: DbOption = None) -> None:
        """Create a campaign from a YAML or JSON file (the body of POST /coupon-campaigns)."""
        data = load(file, CampaignCreate)
        with session_for(ctx, database_url) as session:
            campaign = service.create_campaign(session, data=data, now=SystemClock().now())
            read = service.to_read(session, campaign)
        console.print_json(read.model_dump_json())

    @coupons_app.command("list")
    def list_(ctx: typer.Context, database_url: DbOption = None) -> None:
        """The campaigns (id, name, hashtag, public code, what they give)."""
        with session_for(ctx, database_url) as session:
            currency = program_service.current(session).currency
            rows = [service.to_read(session, c) for c in service.list_campaigns(session)]
        table = Table("id", "name", "hashtag", "public code", "gives", "state")
        for c in rows:
            offer = {
                "amount": "-" if c.amount_minor is None else format_money(c.amount_minor, currency),
                "percent": f"{c.percent} %",
                "product": c.product_sku,
            }
            table.add_row(
                str(c.id),
                c.name,
                c.hashtag or "-",
                c.public_code or "-",
                f"{c.discount_kind} {offer[c.discount_kind]}",
                "active" if c.active else "paused",
            )
        print_table(console, table)

    @coupons_app.command("generate")
    def generate(
        ctx: typer.Context,
        campaign_id: int,
        count: Annotated[int, typer.Argument(min=1, max=10_000_000)],
        key: Annotated[str, typer.Option(help="the batch's name; run again to carry on")],
        out: Annotated[
            Path | None, typer.Option(help="write the batch's codes to this CSV")
        ] = None,
        database_url: DbOption = None,
    ) -> None:
        """Generate COUNT unique codes for a campaign, 50,000 per transaction. A run that was
        stopped is carried on by running it again with the same --key."""
        with session_factory(ctx, database_url) as factory:
            with progress("codes") as update:
                batch = tasks.generate_batch(
                    factory,
                    campaign_id=campaign_id,
                    key=key,
                    count=count,
                    now=SystemClock().now(),
                    progress=update,
                )
            if out is not None:
                written = _export(factory, campaign_id, key, out)
                err.print(f"wrote {written} codes to {out}")
        console.print(f"batch {key!r}: {batch.generated} of {batch.requested} codes")

    @coupons_app.command("export")
    def export(
        ctx: typer.Context,
        campaign_id: int,
        out: Annotated[Path, typer.Option(help="CSV file ('-' for standard output)")],
        batch: Annotated[str | None, typer.Option(help="only this batch")] = None,
        database_url: DbOption = None,
    ) -> None:
        """Write a campaign's codes (code, display) to a CSV file."""
        with session_factory(ctx, database_url) as factory:
            written = _export(factory, campaign_id, batch, out)
        err.print(f"wrote {written} codes")

    @coupons_app.command("report")
    def report(ctx: typer.Context, campaign_id: int, database_url: DbOption = None) -> None:
        """A campaign's figures: codes issued and used, validations, redemptions, discount,
        and the recorded orders that used it."""
        with session_for(ctx, database_url) as session:
            figures = queries.report(session, service.get_campaign(session, campaign_id))
        console.print_json(json.dumps(figures))

    @coupons_app.command("issue")
    def issue(
        ctx: typer.Context,
        campaign_id: int,
        reference: Annotated[str, typer.Option(help="natural key: issuing again gives it back")],
        member: Annotated[int | None, typer.Option(help="bind the code to this member")] = None,
        database_url: DbOption = None,
    ) -> None:
        """Issue one code of a campaign (to a member)."""
        with session_for(ctx, database_url) as session:
            row = service.issue_code(
                session,
                campaign_id=campaign_id,
                reference=reference,
                member_id=member,
                now=SystemClock().now(),
            )
            console.print(codes.display(row.code))

    @coupons_app.command("validate")
    def validate(
        ctx: typer.Context,
        code: str,
        total: Annotated[int, typer.Option(help="the basket's total in minor units")],
        member: Annotated[int | None, typer.Option(help="the member buying")] = None,
        channel: str = "store",
        store: str | None = None,
        database_url: DbOption = None,
    ) -> None:
        """What a code gives a basket, or why not (a read; nothing is held)."""
        body = CouponCheck.model_validate(
            {
                "code": code,
                "basket": {"total_minor": total},
                "member_id": member,
                "channel": channel,
                "store_id": store,
            }
        )
        with session_for(ctx, database_url) as session:
            outcome = redemptions.validate(session, check=body, now=SystemClock().now())
        console.print_json(outcome.read.model_dump_json())
        if not outcome.read.valid:
            raise typer.Exit(3)

    @coupons_app.command("disable")
    def disable(ctx: typer.Context, code: str, database_url: DbOption = None) -> None:
        """Disable one code (lost, leaked): it is refused from now on."""
        with session_for(ctx, database_url) as session:
            row = service.disable_code(session, code=code, now=SystemClock().now())
            console.print(f"disabled {codes.display(row.code)}")


def _export(factory: sessionmaker[Session], campaign_id: int, batch: str | None, out: Path) -> int:
    written = 0
    handle = sys.stdout if str(out) == "-" else out.open("w", encoding="utf-8", newline="")
    try:
        writer = csv.writer(handle)
        writer.writerow(["code", "display"])
        for code in tasks.codes_of(factory, campaign_id=campaign_id, batch_key=batch):
            writer.writerow([code, codes.display(code)])
            written += 1
    finally:
        if handle is not sys.stdout:
            handle.close()
    return written
