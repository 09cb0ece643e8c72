"""``/api/v1/segments``: define, preview, read and delete segments, their members, a member's
segments, and static lists from a file of identities."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from lojal.db.session import transaction
from lojal.inputs import MAX_ID
from lojal.segments import queries, service
from lojal.segments.definition import reads
from lojal.segments.schemas import (
    ListImport,
    ListImported,
    MemberSegmentRead,
    PreviewRead,
    PreviewRequest,
    SegmentCreate,
    SegmentMemberRead,
    SegmentMembersPage,
    SegmentRead,
    SegmentUpdate,
)
from lojal.web.deps import (
    API_PREFIX,
    Admin,
    AdminWrite,
    MemberIdPath,
    NowDep,
    SessionDep,
    Shop,
)
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["segments"])
SegmentIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The segment's id")]


def _read_session(request: Request) -> Iterator[Session]:
    """A read-only transaction for a POST that only reads (the preview)."""
    with transaction(request.app.state.session_factory, read_only=True) as session:
        yield session


ReadSession = Annotated[Session, Depends(_read_session, scope="function")]


class SegmentDeleted(BaseModel):
    id: int
    code: str
    deleted: bool = True


@router.post("/segments", response_model=SegmentRead, status_code=201)
async def create_segment(body: SegmentCreate, write: AdminWrite) -> Response:
    """Save a segment. A dynamic one is filled at once; its members enter now."""

    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(
            queries.segment_read(session, service.create(session, data=body, now=now)), 201
        )

    return await write(work)


@router.post("/segments/preview", response_model=PreviewRead)
def preview(body: PreviewRequest, session: ReadSession, now: NowDep, _: Admin) -> PreviewRead:
    """How many members a definition holds for now, and a sample of them, without saving."""
    count, sample = queries.preview(session, body.definition, now=now, sample=body.sample)
    return PreviewRead(
        count=count,
        sample=[queries.member_brief(m) for m in sample],
        reads=reads(body.definition),
        at=now,
    )


@router.get("/segments", response_model=list[SegmentRead])
def list_segments(session: SessionDep, _: Admin) -> list[SegmentRead]:
    return [queries.segment_read(session, s) for s in queries.list_segments(session)]


@router.get("/segments/{segment_id}", response_model=SegmentRead)
def get_segment(segment_id: SegmentIdPath, session: SessionDep, _: Admin) -> SegmentRead:
    return queries.segment_read(session, queries.get(session, segment_id))


@router.patch("/segments/{segment_id}", response_model=SegmentRead)
async def update_segment(
    segment_id: SegmentIdPath, body: SegmentUpdate, write: AdminWrite
) -> Response:
    """Change a segment; a new definition is evaluated at once."""

    def work(session: Session, now: datetime) -> Reply:
        segment = service.update(session, segment=segment_id, data=body, now=now)
        return Reply.of(queries.segment_read(session, segment), 200)

    return await write(work)


@router.delete("/segments/{segment_id}", response_model=SegmentDeleted)
async def delete_segment(segment_id: SegmentIdPath, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        segment = queries.get(session, segment_id)
        done = SegmentDeleted(id=segment.id, code=segment.code)
        service.delete_segment(session, segment=segment_id)
        return Reply.of(done, 200)

    return await write(work)


@router.get("/segments/{segment_id}/members", response_model=SegmentMembersPage)
def segment_members(
    segment_id: SegmentIdPath,
    session: SessionDep,
    _: Admin,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="The last member id seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SegmentMembersPage:
    """The segment's members now, by member id, a page at a time."""
    segment = queries.get(session, segment_id)
    rows = queries.members_page(session, segment.id, after=after, limit=limit)
    items = [SegmentMemberRead(member_id=r.member_id, entered_at=r.entered_at) for r in rows]
    return SegmentMembersPage(
        items=items, next_after=items[-1].member_id if len(items) == limit else None
    )


@router.post("/segments/{segment_id}/members", response_model=ListImported)
async def import_list(segment_id: SegmentIdPath, body: ListImport, write: AdminWrite) -> Response:
    """Add the members a CSV of identities names to a static list (or, with ``replace``,
    make the list exactly them). A row that names no active member refuses the whole file,
    with every refused line listed; nothing is written then."""

    def work(session: Session, now: datetime) -> Reply:
        done = service.import_list(
            session, segment=segment_id, text=body.csv, now=now, replace=body.replace
        )
        read = ListImported(
            segment_id=segment_id,
            rows=done.rows,
            added=done.added,
            removed=done.removed,
            already=done.already,
            size=done.size,
        )
        return Reply.of(read, 200)

    return await write(work)


@router.get("/members/{member_id}/segments", response_model=list[MemberSegmentRead])
def member_segments(
    member_id: MemberIdPath,
    session: SessionDep,
    _: Shop,
    history: Annotated[bool, Query(description="Every entry and exit, not only now")] = False,
) -> list[MemberSegmentRead]:
    """The segments a member is in now (or, with ``history``, every time they entered and
    left one)."""
    rows = (
        queries.history_of(session, member_id)
        if history
        else queries.segments_of(session, member_id)
    )
    return [
        MemberSegmentRead(
            segment_id=segment.id,
            code=segment.code,
            name=segment.name,
            entered_at=m.entered_at,
            left_at=m.left_at,
        )
        for segment, m in rows
    ]
