from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from lojal import enrolment
from lojal.access import handles
from lojal.errors import Invalid
from lojal.members import merging, service
from lojal.members.models import Member
from lojal.members.schemas import (
    ConsentGrant,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    MergeRequest,
    TillMemberRead,
)
from lojal.program import service as program_service
from lojal.web.deps import (
    API_PREFIX,
    AdminWrite,
    Channel,
    ChannelOrMemberWrite,
    ChannelWrite,
    MemberIdPath,
    NowDep,
    ProgramDep,
    SessionDep,
    SettingsDep,
    Shop,
    ShopOrMember,
    ShopWrite,
)
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["members"])


def _member(session: Session, member: Member, status: int = 200) -> Reply:
    return Reply.of(service.to_read(session, member), status)


@router.post("/members", response_model=MemberRead, status_code=201)
async def enrol(request: Request, body: MemberCreate, write: ChannelWrite) -> Response:
    address = request.client.host if request.client else None

    def work(session: Session, now: datetime) -> Reply:
        region = program_service.current(session).phone_region
        member = enrolment.enrol(session, data=body, now=now, region=region, address=address)
        return _member(session, member, 201)

    return await write(work)


@router.get("/members", response_model=MemberRead)
def find(
    session: SessionDep,
    program: ProgramDep,
    _: Shop,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    card: Annotated[str | None, Query(max_length=40)] = None,
    external_id: Annotated[str | None, Query(max_length=128)] = None,
) -> MemberRead:
    given = [
        (k, v)
        for k, v in (
            ("email", email),
            ("phone", phone),
            ("card", card),
            ("external_id", external_id),
        )
        if v
    ]
    if len(given) != 1:
        raise Invalid("give exactly one of email, phone, card or external_id", field="query")
    kind, value = given[0]
    member = service.find(session, kind=kind, value=value, region=program.phone_region)
    return service.to_read(session, member)


@router.get("/till/members", response_model=TillMemberRead)
def find_at_till(
    session: SessionDep,
    program: ProgramDep,
    settings: SettingsDep,
    now: NowDep,
    principal: Channel,
    card: Annotated[str | None, Query(max_length=40)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
) -> TillMemberRead:
    """The member whose card, email or phone is shown at the till, in the till's view, with
    the handle the till acts for them with (for ``handles.LIFETIME``)."""
    given = [(k, v) for k, v in (("card", card), ("email", email), ("phone", phone)) if v]
    if len(given) != 1:
        raise Invalid("give exactly one of card, email or phone", field="query")
    kind, value = given[0]
    member = service.find(session, kind=kind, value=value, region=program.phone_region)
    handle, expires_at = handles.issue(
        pepper=settings.api_key_pepper, key_id=principal.key_id, member_id=member.id, now=now
    )
    return service.till_view(member, handle=handle, handle_expires_at=expires_at)


@router.get("/members/{member_id}", response_model=MemberRead)
def get(member_id: MemberIdPath, session: SessionDep, _: ShopOrMember) -> MemberRead:
    return service.to_read(session, service.get(session, member_id))


@router.patch("/members/{member_id}", response_model=MemberRead)
async def update(member_id: MemberIdPath, body: MemberUpdate, write: ShopWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        region = program_service.current(session).phone_region
        member = service.update_member(
            session, member_id=member_id, data=body, now=now, region=region
        )
        return _member(session, member)

    return await write(work)


@router.post("/members/{member_id}/consents", response_model=MemberRead)
async def consent(
    member_id: MemberIdPath, body: ConsentGrant, write: ChannelOrMemberWrite
) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        return _member(
            session, service.set_consent(session, member_id=member_id, grant=body, now=now)
        )

    return await write(work)


@router.post("/members/{member_id}/merge", response_model=MemberRead)
async def merge(member_id: MemberIdPath, body: MergeRequest, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        merged = merging.merge(session, into_id=member_id, from_id=body.from_member_id, now=now)
        return _member(session, merged.member)

    return await write(work)


@router.post("/members/{member_id}/close", response_model=MemberRead)
async def close(member_id: MemberIdPath, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        return _member(session, service.close(session, member_id=member_id, now=now))

    return await write(work)
