"""``lojal segments``: define segments from files, preview a definition, list and show them,
their members, import a static list, and sweep the segments that change with time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from lojal.audiences import service as audiences
from lojal.clock import SystemClock
from lojal.commands import DbOption, session_factory, session_for
from lojal.jobs.service import sweep_segments
from lojal.program import service as program
from lojal.segments import queries, service
from lojal.segments.schemas import PreviewRequest, SegmentCreate
from lojal.terminal import print_table

console = Console()
M = TypeVar("M", bound=BaseModel)


def _load(file: Path, model: type[M], wrap: str | None = None) -> M:
    """A YAML or JSON file as ``model`` (``wrap``: the file is that field of it); a field
    that does not fit is named."""
    try:
        data: Any = yaml.safe_load(file.read_text(encoding="utf-8"))
        return model.model_validate({wrap: data} if wrap else data)
    except yaml.YAMLError as exc:
        raise typer.BadParameter(f"{file} is not YAML or JSON: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise typer.BadParameter(f"{file}: {problems}") from exc


def register(app: typer.Typer) -> None:
    segments_app = typer.Typer(help="Segments of members, and static lists.", no_args_is_help=True)
    app.add_typer(segments_app, name="segments")

    @segments_app.command("create")
    def create(command: typer.Context, file: Path, database_url: DbOption = None) -> None:
        """Create a segment from a YAML or JSON file (the body of POST /segments)."""

        data = _load(file, SegmentCreate)
        with session_for(command, database_url) as session:
            segment = service.create(session, data=data, now=SystemClock().now())
            console.print_json(queries.segment_read(session, segment).model_dump_json())

    @segments_app.command("list")
    def list_(command: typer.Context, database_url: DbOption = None) -> None:
        """Every segment: id, code, kind, members now, name."""

        table = Table("id", "code", "kind", "members", "name", "reads")
        with session_for(command, database_url) as session:
            for s in queries.list_segments(session):
                size = queries.size(session, s.id)
                table.add_row(str(s.id), s.code, s.kind, str(size), s.name, ", ".join(s.reads))
        print_table(console, table)

    @segments_app.command("show")
    def show(
        command: typer.Context,
        segment: Annotated[str, typer.Argument(help="the segment's code or id")],
        database_url: DbOption = None,
    ) -> None:
        """A segment with its definition and size."""
        with session_for(command, database_url) as session:
            found = queries.get(session, segment)
            console.print_json(queries.segment_read(session, found).model_dump_json())

    @segments_app.command("preview")
    def preview(
        command: typer.Context,
        file: Annotated[Path, typer.Argument(help="a definition, YAML or JSON")],
        sample: int = 10,
        database_url: DbOption = None,
    ) -> None:
        """How many members a definition holds for now, and a sample, without saving."""

        body = _load(file, PreviewRequest, wrap="definition")
        with session_for(command, database_url) as session:
            count, members = queries.preview(
                session, body.definition, now=SystemClock().now(), sample=sample
            )
            console.print(f"{count} members")
            for m in members:
                brief = queries.member_brief(m)
                print(f"{brief.member_id}\t{brief.email or '-'}\t{brief.tier or '-'}")

    @segments_app.command("members")
    def members(
        command: typer.Context,
        segment: Annotated[str, typer.Argument(help="the segment's code or id")],
        after: int = 0,
        limit: int = 1000,
        database_url: DbOption = None,
    ) -> None:
        """The segment's members now (member id and since when), by member id."""
        with session_for(command, database_url) as session:
            found = queries.get(session, segment)
            for row in queries.members_page(session, found.id, after=after, limit=limit):
                print(f"{row.member_id}\t{row.entered_at.isoformat()}")

    @segments_app.command("import-list")
    def import_list(
        command: typer.Context,
        segment: Annotated[str, typer.Argument(help="the static list's code or id")],
        file: Annotated[Path, typer.Argument(help="CSV: email, card, phone, customer_id")],
        replace: Annotated[bool, typer.Option(help="make the list exactly the file")] = False,
        database_url: DbOption = None,
    ) -> None:
        """Add the members a file names to a static list, all or nothing: a row that names
        no active member refuses the file, with every refused line listed."""

        text = file.read_text(encoding="utf-8-sig")
        with session_for(command, database_url) as session:
            done = service.import_list(
                session, segment=segment, text=text, now=SystemClock().now(), replace=replace
            )
        console.print(
            f"read {done.rows} rows: {done.added} added, {done.removed} removed, "
            f"{done.already} already in; {done.size} members"
        )

    @segments_app.command("audience")
    def audience(
        command: typer.Context,
        segment: Annotated[str, typer.Argument(help="the segment's code or id")],
        out: Annotated[Path, typer.Option("--out", help="the file to write")],
        format_: Annotated[
            audiences.Format,
            typer.Option("--format", help="meta: a customer file (CSV); google: Data Manager"),
        ] = "meta",
        name: Annotated[
            str | None, typer.Option(help="the audience's name (default: a neutral one)")
        ] = None,
        database_url: DbOption = None,
    ) -> None:
        """Write the segment as an advertising audience: the members whose ads consent allows
        it, hashed (SHA-256) as Meta or Google asks; say who was left out and why."""
        with session_for(command, database_url) as session:
            built = audiences.build(
                session,
                segment=segment,
                config=program.current(session),
                now=SystemClock().now(),
                name=name,
            )
            with out.open("w", encoding="utf-8", newline="") as file:
                for piece in audiences.render(built, format_):
                    file.write(piece)
        left = built.left_out
        console.print(
            f"{built.name}: {len(built.people)} members written to {out}; left out "
            f"{left.total}: {left.closed} closed, {left.no_consent} without ads consent, "
            f"{left.no_identifier} without an e-mail address or phone number"
        )

    @segments_app.command("sweep")
    def sweep(
        command: typer.Context,
        all_: Annotated[bool, typer.Option("--all", help="every dynamic segment")] = False,
        database_url: DbOption = None,
    ) -> None:
        """Re-evaluate the segments that change with time (and without activity) as of now,
        one transaction per segment."""
        with session_factory(command, database_url) as factory:
            done = sweep_segments(factory, now=SystemClock().now(), everything=all_)
        console.print_json(json.dumps(done.model_dump()))
