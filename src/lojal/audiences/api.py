"""``GET /api/v1/segments/{id}/audience``: a segment as a Meta customer file (CSV) or a Google
Data Manager upload (JSON), hashed, for the members whose ``ads`` consent allows it.

The file is built in the request's read transaction and then streamed. What it is and who was
left out are said in headers: ``Audience-Name`` (percent-encoded UTF-8), ``Audience-Members``,
and ``Audience-Left-Out`` (``closed=N, no_consent=N, no_identifier=N``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from lojal.audiences import service
from lojal.audiences.formats import MAX_NAME_LENGTH
from lojal.inputs import MAX_ID
from lojal.web.deps import API_PREFIX, Admin, NowDep, ProgramDep, SessionDep

router = APIRouter(prefix=API_PREFIX, tags=["segments"])

MEDIA: dict[service.Format, str] = {"meta": "text/csv", "google": "application/json"}
_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The audience file: Meta's CSV (`EMAIL,PHONE,FN,LN,COUNTRY`, SHA-256 hex) "
        "or the body of Data Manager's `audienceMembers:ingest` without its destinations",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
        "headers": {
            "Audience-Name": {
                "description": "The audience's name, percent-encoded UTF-8",
                "schema": {"type": "string"},
            },
            "Audience-Members": {
                "description": "Members in the file",
                "schema": {"type": "integer"},
            },
            "Audience-Left-Out": {
                "description": "Members of the segment left out, by reason: "
                "`closed=N, no_consent=N, no_identifier=N`",
                "schema": {"type": "string"},
            },
        },
    }
}


@router.get("/segments/{segment_id}/audience", response_class=StreamingResponse, responses=_FILE)
def audience(
    segment_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The segment's id")],
    session: SessionDep,
    config: ProgramDep,
    now: NowDep,
    _: Admin,
    format: Annotated[
        service.Format, Query(description="meta: a customer file; google: Data Manager")
    ] = "meta",
    name: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_NAME_LENGTH,
            description="The audience's name (default `lojal segment <id> – <day>`); a name "
            "that suggests health or finances is refused",
        ),
    ] = None,
) -> StreamingResponse:
    """The segment's members now as an advertising audience: only those whose `ads` consent
    is granted, each identifier normalised as the platform asks and hashed with SHA-256."""
    built = service.build(session, segment=segment_id, config=config, now=now, name=name)
    body = list(service.render(built, format))
    left = built.left_out
    extension = "csv" if format == "meta" else "json"
    return StreamingResponse(
        iter(body),
        media_type=MEDIA[format],
        headers={
            "Content-Disposition": f'attachment; filename="segment-{built.segment_id}-'
            f'{format}.{extension}"',
            "Audience-Name": quote(built.name),
            "Audience-Members": str(len(built.people)),
            "Audience-Left-Out": f"closed={left.closed}, no_consent={left.no_consent}, "
            f"no_identifier={left.no_identifier}",
        },
    )
