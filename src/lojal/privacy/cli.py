"""``lojal members export|erase|erase-inactive``: a person's rights over their data from the
command line, through the same services as the API (``lojal.privacy.export``,
``lojal.privacy.erasure``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from lojal.clock import SystemClock
from lojal.commands import DbOption, console, session_for
from lojal.privacy import erasure
from lojal.privacy.export import export_member

# members erased per transaction by erase-inactive
BATCH = 200


def export(
    ctx: typer.Context,
    member_id: int,
    out: Annotated[Path, typer.Option("--out", help="the JSON file to write")],
    database_url: DbOption = None,
) -> None:
    """Write everything stored about MEMBER_ID (and the members merged into them) to a JSON
    file readable by its owner only."""
    with session_for(ctx, database_url) as session:
        data = export_member(session, member_id, now=SystemClock().now())
    text = json.dumps(data, ensure_ascii=False, indent=2)
    # personal data: the file is the owner's alone from the moment it exists
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    rows = sum(len(rows) for rows in data["tables"].values())
    console.print(f"member {member_id}: {rows} rows from {len(data['tables'])} tables → {out}")


def erase(ctx: typer.Context, member_id: int, database_url: DbOption = None) -> None:
    """Close MEMBER_ID's membership and remove their personal data; the ledger, receipts and
    statistics stay under the pseudonymous member id."""
    with session_for(ctx, database_url) as session:
        done = erasure.erase(session, member_id=member_id, now=SystemClock().now())
    if done.already:
        console.print(f"member {member_id} was erased already")
        return
    removed = ", ".join(f"{k} {v}" for k, v in done.removed.items() if v)
    console.print(f"member {member_id} erased: {removed or 'nothing stored'}")


def erase_inactive(
    ctx: typer.Context,
    years: Annotated[int, typer.Option(min=1, help="erase members inactive this many years")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list them, erase nothing")] = False,
    database_url: DbOption = None,
) -> None:
    """Erase every member with no enrolment, purchase, return or event for YEARS years, a
    batch per transaction."""
    now = SystemClock().now()
    if dry_run:
        with session_for(ctx, database_url) as session:
            ids = erasure.inactive_members(session, years=years, now=now, limit=1_000_000)
        shown = ", ".join(str(i) for i in ids[:50]) + (" …" if len(ids) > 50 else "")
        console.print(f"{len(ids)} members would be erased" + (f": {shown}" if ids else ""))
        return
    total = 0
    while True:
        with session_for(ctx, database_url) as session:
            ids = erasure.erase_inactive(session, years=years, now=now, limit=BATCH)
        total += len(ids)
        if len(ids) < BATCH:
            break
    console.print(f"{total} members inactive for {years} years erased")


def register(app: typer.Typer) -> None:
    """The commands join ``lojal members`` (``app`` is that group)."""
    app.command("export")(export)
    app.command("erase")(erase)
    app.command("erase-inactive")(erase_inactive)
