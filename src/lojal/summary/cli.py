"""``lojal members summary ID``: the member's summary in the terminal (or as JSON)."""

from __future__ import annotations

from typing import Annotated

import typer

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, session_for
from lojal.summary import service


def register(members_app: typer.Typer) -> None:
    @members_app.command("summary")
    def summary(
        ctx: typer.Context,
        member_id: int,
        locale: Annotated[
            str | None, typer.Option(help="language of the texts (sv, nb, fi, en)")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
        database_url: DbOption = None,
    ) -> None:
        """What the member sees: points, tier and progress, rewards they can afford,
        challenges, referral link and badges, in their language."""
        with session_for(ctx, database_url) as session:
            found = service.summary(
                session, member_id=member_id, now=SystemClock().now(), locale=locale
            )
        if as_json:
            console.print_json(found.model_dump_json())
            return
        lines = [found.greeting, found.points.text]
        lines += [p.text for p in found.points.becoming_available]
        lines += [p.text for p in found.points.expiring]
        if found.tier is not None:
            lines.append(found.tier.text)
            if found.tier.keep is not None and found.tier.keep.text:
                lines.append(found.tier.keep.text)
        lines += [r.text for r in found.rewards]
        lines += [c.text for c in found.challenges]
        if found.referral is not None:
            lines.append(found.referral.text)
        lines += [b.text for b in found.badges]
        for line in lines:
            console.print(line, markup=False, highlight=False)
