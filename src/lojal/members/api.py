from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lojal.errors import Invalid
from lojal.members import service
from lojal.members.schemas import (
    ConsentGrant,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    MergeRequest,
)
from lojal.web.deps import Admin, Channel, MemberIdPath, NowDep, ProgramDep, SessionDep

router = APIRouter(tags=["members"])


@router.post("/members", response_model=MemberRead, status_code=201)
def enrol(
    body: MemberCreate, session: SessionDep, now: NowDep, program: ProgramDep, _: Channel
) -> MemberRead:
    member = service.enrol(session, data=body, now=now, region=program.phone_region)
    return service.to_read(session, member)


@router.get("/members", response_model=MemberRead)
def find(
    session: SessionDep,
    program: ProgramDep,
    _: Channel,
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


@router.get("/members/{member_id}", response_model=MemberRead)
def get(member_id: MemberIdPath, session: SessionDep, _: Channel) -> MemberRead:
    return service.to_read(session, service.get(session, member_id))


@router.patch("/members/{member_id}", response_model=MemberRead)
def update(
    member_id: MemberIdPath,
    body: MemberUpdate,
    session: SessionDep,
    now: NowDep,
    program: ProgramDep,
    _: Channel,
) -> MemberRead:
    member = service.update_member(
        session, member_id=member_id, data=body, now=now, region=program.phone_region
    )
    return service.to_read(session, member)


@router.post("/members/{member_id}/consents", response_model=MemberRead)
def consent(
    member_id: MemberIdPath, body: ConsentGrant, session: SessionDep, now: NowDep, _: Channel
) -> MemberRead:
    return service.to_read(
        session, service.set_consent(session, member_id=member_id, grant=body, now=now)
    )


@router.post("/members/{member_id}/merge", response_model=MemberRead)
def merge(
    member_id: MemberIdPath, body: MergeRequest, session: SessionDep, now: NowDep, _: Admin
) -> MemberRead:
    member = service.merge(session, into_id=member_id, from_id=body.from_member_id, now=now)
    return service.to_read(session, member)


@router.post("/members/{member_id}/close", response_model=MemberRead)
def close(member_id: MemberIdPath, session: SessionDep, now: NowDep, _: Admin) -> MemberRead:
    return service.to_read(session, service.close(session, member_id=member_id, now=now))
