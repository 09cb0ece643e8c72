from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from lojal.inputs import MAX_ID, Day
from lojal.referrals import service
from lojal.referrals.schemas import (
    MemberReferralRead,
    ReferralClaim,
    ReferralPage,
    ReferralRead,
    ReferralReport,
    ReferralStatus,
)
from lojal.web.deps import (
    API_PREFIX,
    Admin,
    MemberIdPath,
    SessionDep,
    ShopOrMemberWrite,
)
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["referrals"])

Id = Annotated[int | None, Query(gt=0, le=MAX_ID)]
DayQuery = Annotated[Day | None, Query()]


@router.get("/members/{member_id}/referral", response_model=MemberReferralRead)
async def member_referral(member_id: MemberIdPath, write: ShopOrMemberWrite) -> Response:
    """The member's referral code and link, and how their referrals are doing. A member who
    enrolled before the club had referrals gets their code on first use (so this read runs
    on the write path)."""

    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(service.member_referral(session, member_id=member_id, now=now), 200)

    return await write(work)


@router.post(
    "/members/{member_id}/referral/claim",
    response_model=ReferralRead,
    status_code=201,
    responses={200: {"description": "The member was already referred with this code"}},
)
async def claim(member_id: MemberIdPath, body: ReferralClaim, write: ShopOrMemberWrite) -> Response:
    """A member who did not give a friend's code at enrolment adds it (within the
    programme's ``claim_days``). The referral is recorded even when it is refused; its
    ``status`` and ``reason`` say so."""

    def work(session: Session, now: datetime) -> Reply:
        referral, created = service.claim(
            session, member_id=member_id, referral_code=body.referral_code, now=now
        )
        return Reply.of(service.to_read(referral), 201 if created else 200)

    return await write(work)


@router.get("/referrals", response_model=ReferralPage)
def list_referrals(
    session: SessionDep,
    _: Admin,
    advocate_id: Id = None,
    referee_id: Id = None,
    status: ReferralStatus | None = None,
    before: Id = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ReferralPage:
    """Referrals, newest first (``before``: the ``next_before`` of the previous page)."""
    return service.list_referrals(
        session,
        advocate_id=advocate_id,
        referee_id=referee_id,
        status=status,
        before=before,
        limit=limit,
    )


@router.get("/referrals/report", response_model=ReferralReport)
def report(
    session: SessionDep,
    _: Admin,
    advocate_id: Id = None,
    since: DayQuery = None,
    until: DayQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> ReferralReport:
    """Per advocate, most referrals first, and in total: referrals by status, refusals by
    reason, points given, pending and clawed back, and the referees' purchases. ``since`` and
    ``until`` (inclusive) are days in the club's time zone; they select referrals by when
    they were made."""
    return service.report(
        session, advocate_id=advocate_id, since=since, until=until, limit=limit, offset=offset
    )
