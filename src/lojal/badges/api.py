from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy.orm import Session

from lojal.badges import service
from lojal.badges.schemas import (
    CODE_PATTERN,
    BadgeCreate,
    BadgeGrant,
    BadgeRead,
    BadgeUpdate,
    MemberBadges,
)
from lojal.members import service as members
from lojal.web.deps import (
    API_PREFIX,
    Admin,
    AdminWrite,
    MemberIdPath,
    SessionDep,
    ShopOrMember,
)
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["badges"])
BadgeCode = Annotated[
    str, Path(pattern=CODE_PATTERN, max_length=64, description="The badge's code")
]


def _member_badges(session: Session, member_id: int) -> MemberBadges:
    member = members.resolve(session, members.get(session, member_id))
    return MemberBadges(member_id=member.id, badges=service.badges_of(session, member_id=member.id))


@router.post("/badges", response_model=BadgeRead, status_code=201)
async def create(body: BadgeCreate, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(service.to_read(service.create(session, data=body, now=now)), 201)

    return await write(work)


@router.get("/badges", response_model=list[BadgeRead])
def list_badges(session: SessionDep, _: Admin) -> list[BadgeRead]:
    return [service.to_read(badge) for badge in service.list_all(session)]


@router.get("/badges/{code}", response_model=BadgeRead)
def get(code: BadgeCode, session: SessionDep, _: Admin) -> BadgeRead:
    return service.to_read(service.get(session, code))


@router.patch("/badges/{code}", response_model=BadgeRead)
async def update(code: BadgeCode, body: BadgeUpdate, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(
            service.to_read(service.update(session, code=code, data=body, now=now)), 200
        )

    return await write(work)


@router.get("/members/{member_id}/badges", response_model=MemberBadges)
def member_badges(member_id: MemberIdPath, session: SessionDep, _: ShopOrMember) -> MemberBadges:
    return _member_badges(session, member_id)


@router.post("/members/{member_id}/badges", response_model=MemberBadges)
async def grant(member_id: MemberIdPath, body: BadgeGrant, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        service.grant(
            session, member_id=member_id, code=body.badge, actor=write.principal.name, now=now
        )
        return Reply.of(_member_badges(session, member_id), 200)

    return await write(work)


@router.delete("/members/{member_id}/badges/{code}", response_model=MemberBadges)
async def revoke(member_id: MemberIdPath, code: BadgeCode, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        service.revoke(session, member_id=member_id, code=code)
        return Reply.of(_member_badges(session, member_id), 200)

    return await write(work)
