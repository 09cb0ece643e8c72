from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from lojal.memberships import service
from lojal.memberships.schemas import (
    PLAN_CODE_PATTERN,
    MemberMemberships,
    MembershipRead,
    PaymentCreate,
    PaymentRecorded,
    PlanCreate,
    PlanRead,
    PlanUpdate,
)
from lojal.web.deps import (
    API_PREFIX,
    AdminWrite,
    Catalogue,
    MemberIdPath,
    SessionDep,
    ShopOrMember,
    ShopOrMemberWrite,
    ShopWrite,
)
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["paid membership"])
PlanCodePath = Annotated[
    str, Path(pattern=PLAN_CODE_PATTERN, max_length=32, description="The plan's code")
]


@router.post("/membership-plans", response_model=PlanRead, status_code=201)
async def create_plan(body: PlanCreate, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(service.plan_read(service.create_plan(session, data=body, now=now)), 201)

    return await write(work)


@router.get("/membership-plans", response_model=list[PlanRead])
def list_plans(
    session: SessionDep, _: Catalogue, include_retired: Annotated[bool, Query()] = False
) -> list[PlanRead]:
    plans = service.list_plans(session, include_retired=include_retired)
    return [service.plan_read(plan) for plan in plans]


@router.get("/membership-plans/{code}", response_model=PlanRead)
def get_plan(code: PlanCodePath, session: SessionDep, _: Catalogue) -> PlanRead:
    return service.plan_read(service.get_plan(session, code))


@router.patch("/membership-plans/{code}", response_model=PlanRead)
async def update_plan(code: PlanCodePath, body: PlanUpdate, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        plan = service.update_plan(session, code=code, data=body, now=now)
        return Reply.of(service.plan_read(plan), 200)

    return await write(work)


@router.post("/membership-plans/{code}/retire", response_model=PlanRead)
async def retire_plan(code: PlanCodePath, write: AdminWrite) -> Response:
    """No new memberships on the plan; active ones can still be renewed."""

    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(service.plan_read(service.retire_plan(session, code=code, now=now)), 200)

    return await write(work)


@router.get("/members/{member_id}/membership", response_model=MemberMemberships)
def membership(member_id: MemberIdPath, session: SessionDep, _: ShopOrMember) -> MemberMemberships:
    """The member's active membership (with its renewal date) and every earlier one."""
    return service.of_member(session, member_id=member_id)


@router.post(
    "/members/{member_id}/membership/payments",
    response_model=PaymentRecorded,
    status_code=201,
    responses={200: {"description": "The payment reference was already recorded"}},
)
async def record_payment(
    member_id: MemberIdPath, body: PaymentCreate, write: ShopWrite
) -> Response:
    """Record a membership fee taken in the shop's checkout: it starts a membership on the
    plan, or renews the member's membership on it by one interval."""

    def work(session: Session, now: datetime) -> Reply:
        record, membership, created = service.record_payment(
            session, member_id=member_id, data=body, now=now
        )
        [read] = service.membership_reads(session, [membership])
        payment = next(p for p in read.payments if p.id == record.id)
        return Reply.of(PaymentRecorded(payment=payment, membership=read), 201 if created else 200)

    return await write(work)


@router.post("/members/{member_id}/membership/cancel", response_model=MembershipRead)
async def cancel(member_id: MemberIdPath, write: ShopOrMemberWrite) -> Response:
    """Cancel: the membership and its benefits last until the end of the paid period."""

    def work(session: Session, now: datetime) -> Reply:
        membership = service.cancel(session, member_id=member_id, now=now)
        [read] = service.membership_reads(session, [membership])
        return Reply.of(read, 200)

    return await write(work)
