from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from lojal.challenges import service
from lojal.challenges.schemas import (
    CODE_PATTERN,
    ChallengeDefinition,
    ChallengeRead,
    ChallengeStats,
    MemberChallenges,
    Status,
)
from lojal.members import service as members
from lojal.web.deps import (
    API_PREFIX,
    Admin,
    AdminWrite,
    MemberIdPath,
    NowDep,
    SessionDep,
    ShopOrMember,
)
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["challenges"])
ChallengeCode = Annotated[
    str, Path(pattern=CODE_PATTERN, max_length=64, description="The challenge's code")
]


@router.post("/challenges", response_model=ChallengeRead, status_code=201)
async def create(body: ChallengeDefinition, write: AdminWrite) -> Response:
    """A new challenge, as a draft: it counts nothing until it is activated."""

    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(service.to_read(service.create(session, definition=body, now=now)), 201)

    return await write(work)


@router.put(
    "/challenges/{code}",
    response_model=ChallengeRead,
    responses={201: {"description": "The challenge was created"}},
)
async def apply(code: ChallengeCode, body: ChallengeDefinition, write: AdminWrite) -> Response:
    """Create or change a challenge. What an active challenge counts cannot change (409)."""

    def work(session: Session, now: datetime) -> Reply:
        row, created = service.apply(session, definition=body, code=code, now=now)
        return Reply.of(service.to_read(row), 201 if created else 200)

    return await write(work)


@router.get("/challenges", response_model=list[ChallengeRead])
def list_challenges(
    session: SessionDep, _: Admin, status: Annotated[Status | None, Query()] = None
) -> list[ChallengeRead]:
    return [service.to_read(row) for row in service.list_all(session, status=status)]


@router.get("/challenges/{code}", response_model=ChallengeRead)
def get(code: ChallengeCode, session: SessionDep, _: Admin) -> ChallengeRead:
    return service.to_read(service.get(session, code))


@router.post("/challenges/{code}/activate", response_model=ChallengeRead)
async def activate(code: ChallengeCode, write: AdminWrite) -> Response:
    """Start counting activity: from ``starts_at``, or from now."""

    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(service.to_read(service.activate(session, code=code, now=now)), 200)

    return await write(work)


@router.post("/challenges/{code}/end", response_model=ChallengeRead)
async def end(code: ChallengeCode, write: AdminWrite) -> Response:
    """Stop counting; members keep their progress and completions."""

    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(service.to_read(service.end(session, code=code, now=now)), 200)

    return await write(work)


@router.get("/challenges/{code}/stats", response_model=ChallengeStats)
def stats(code: ChallengeCode, session: SessionDep, now: NowDep, _: Admin) -> ChallengeStats:
    return service.stats(session, code=code, now=now)


@router.get("/members/{member_id}/challenges", response_model=MemberChallenges)
def member_challenges(
    member_id: MemberIdPath, session: SessionDep, now: NowDep, _: ShopOrMember
) -> MemberChallenges:
    """The challenges running now that the member can take part in, with their progress."""
    member = members.resolve(session, members.get(session, member_id))
    return MemberChallenges(
        member_id=member.id,
        challenges=service.active_for_member(session, member_id=member.id, now=now),
    )
