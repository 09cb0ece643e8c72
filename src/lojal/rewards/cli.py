"""``lojal rewards``: the catalogue from files, partner code pools from text files, redeeming
for a member (e.g. at a service desk), and what a member can afford."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, load, session_for
from lojal.rewards import queries, service
from lojal.rewards.schemas import RedeemRequest, RewardCreate

CODES_PER_TRANSACTION = 10_000


def register(app: typer.Typer) -> None:
    rewards_app = typer.Typer(help="The rewards catalogue.", no_args_is_help=True)
    app.add_typer(rewards_app, name="rewards")

    @rewards_app.command("create")
    def create(ctx: typer.Context, file: Path, database_url: DbOption = None) -> None:
        """Create a reward from a YAML or JSON file (the body of POST /rewards)."""
        data = load(file, RewardCreate)
        with session_for(ctx, database_url) as session:
            reward = service.create_reward(session, data=data, now=SystemClock().now())
            console.print_json(queries.reward_read(session, reward).model_dump_json())

    @rewards_app.command("list")
    def list_(ctx: typer.Context, database_url: DbOption = None) -> None:
        """The catalogue: id, code, kind, price, stock, tiers."""
        with session_for(ctx, database_url) as session:
            for r in service.list_rewards(session):
                console.print(
                    f"{r.id}\t{r.code}\t{r.kind}\t{r.points_price or '-'} points\t"
                    f"stock {'∞' if r.stock is None else r.stock}\t"
                    f"tiers {','.join(r.tiers) or 'all'}\t{'active' if r.active else 'off'}"
                )

    @rewards_app.command("import-codes")
    def import_codes(
        ctx: typer.Context,
        reward: Annotated[str, typer.Argument(help="the reward's code or id")],
        file: Annotated[Path, typer.Argument(help="one partner code per line")],
        database_url: DbOption = None,
    ) -> None:
        """Add a partner's codes to a partner reward's pool, 10,000 per transaction. Codes in
        the pool already are skipped, so a file imported twice adds nothing."""
        with file.open(encoding="utf-8") as handle:
            lines = [code for line in handle if (code := line.strip())]
        with session_for(ctx, database_url) as session:
            reward_id = service.find_reward(session, reward).id
            available = service.partner_codes_left(session, reward_id)
        imported = duplicates = 0
        for start in range(0, len(lines), CODES_PER_TRANSACTION):
            chunk = lines[start : start + CODES_PER_TRANSACTION]
            with session_for(ctx, database_url) as session:
                done = service.import_partner_codes(
                    session, reward_id=reward_id, codes=chunk, now=SystemClock().now()
                )
            imported, duplicates = imported + done.imported, duplicates + done.duplicates
            available = done.available
        console.print(
            f"imported {imported} codes, skipped {duplicates} duplicates; {available} in the pool"
        )

    @rewards_app.command("redeem")
    def redeem(
        ctx: typer.Context,
        reward: Annotated[str, typer.Argument(help="the reward's code or id")],
        member: Annotated[int, typer.Argument(help="the member's id")],
        reference: Annotated[str, typer.Option(help="natural key: redeeming again gives it back")],
        channel: str = "store",
        points: Annotated[int | None, typer.Option(help="points as payment: how many")] = None,
        database_url: DbOption = None,
    ) -> None:
        """Redeem a reward for a member: spend the points, give the coupon or partner code."""
        body = RedeemRequest.model_validate(
            {"reference": reference, "channel": channel, "points": points}
        )
        with session_for(ctx, database_url) as session:
            redemption, _ = service.redeem(
                session,
                reward_id=service.find_reward(session, reward).id,
                member_id=member,
                key=service.redemption_key(member, body.reference, None),
                now=SystemClock().now(),
                channel=body.channel,
                points=body.points,
            )
            console.print_json(queries.redemption_read(session, redemption).model_dump_json())

    @rewards_app.command("affordable")
    def affordable(ctx: typer.Context, member: int, database_url: DbOption = None) -> None:
        """The rewards a member can redeem now with the points they have."""
        with session_for(ctx, database_url) as session:
            offers = service.affordable(session, member_id=member, now=SystemClock().now())
        console.print_json(json.dumps([o.model_dump(mode="json") for o in offers]))
