from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy.orm import Session

from lojal.inputs import MAX_ID
from lojal.rewards import queries, service
from lojal.rewards.schemas import (
    AffordableReward,
    PartnerCodesImport,
    PartnerCodesImported,
    RedeemRequest,
    RedemptionRead,
    RewardCreate,
    RewardRead,
    RewardUpdate,
)
from lojal.web.deps import (
    API_PREFIX,
    AdminWrite,
    Catalogue,
    ChannelOrMember,
    ChannelOrMemberWrite,
    MemberIdPath,
    NowDep,
    SessionDep,
    ShopOrMember,
)
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["rewards"])
RewardIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The reward's id")]


@router.post("/rewards", response_model=RewardRead, status_code=201)
async def create_reward(body: RewardCreate, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(
            queries.reward_read(session, service.create_reward(session, data=body, now=now)), 201
        )

    return await write(work)


@router.get("/rewards", response_model=list[RewardRead])
def list_rewards(session: SessionDep, _: Catalogue) -> list[RewardRead]:
    return [queries.reward_read(session, r) for r in queries.list_rewards(session)]


@router.get("/rewards/{reward_id}", response_model=RewardRead)
def get_reward(reward_id: RewardIdPath, session: SessionDep, _: Catalogue) -> RewardRead:
    return queries.reward_read(session, queries.get_reward(session, reward_id))


@router.patch("/rewards/{reward_id}", response_model=RewardRead)
async def update_reward(reward_id: RewardIdPath, body: RewardUpdate, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        reward = service.update_reward(session, reward_id=reward_id, data=body, now=now)
        return Reply.of(queries.reward_read(session, reward), 200)

    return await write(work)


@router.post("/rewards/{reward_id}/partner-codes", response_model=PartnerCodesImported)
async def import_partner_codes(
    reward_id: RewardIdPath, body: PartnerCodesImport, write: AdminWrite
) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        done = service.import_partner_codes(session, reward_id=reward_id, codes=body.codes, now=now)
        read = PartnerCodesImported(
            reward_id=reward_id,
            imported=done.imported,
            duplicates=done.duplicates,
            available=done.available,
        )
        return Reply.of(read, 200)

    return await write(work)


@router.get("/members/{member_id}/rewards", response_model=list[AffordableReward])
def affordable(
    member_id: MemberIdPath, session: SessionDep, now: NowDep, _: ChannelOrMember
) -> list[AffordableReward]:
    return service.affordable(session, member_id=member_id, now=now)


@router.get("/members/{member_id}/reward-redemptions", response_model=list[RedemptionRead])
def member_redemptions(
    member_id: MemberIdPath, session: SessionDep, _: ShopOrMember
) -> list[RedemptionRead]:
    return [
        queries.redemption_read(session, r) for r in queries.member_redemptions(session, member_id)
    ]


# rewards/cli.py still reads the key from here.
redemption_key = service.redemption_key


@router.post(
    "/members/{member_id}/rewards/{reward_id}/redeem",
    response_model=RedemptionRead,
    status_code=201,
    responses={
        200: {"description": "The reference was redeemed before: the first redemption"},
        409: {
            "description": "InsufficientPoints, OutOfStock, NotEligible, RewardUnavailable, "
            "PartnerPoolEmpty, RewardLimitReached, SpendingOnHold (the member's email or phone "
            "changed a short while ago)"
        },
    },
)
async def redeem(
    member_id: MemberIdPath,
    reward_id: RewardIdPath,
    body: RedeemRequest,
    write: ChannelOrMemberWrite,
) -> Response:
    claimed = write.claim.key if write.claim else None
    key = service.redemption_key(member_id, body.reference, claimed)

    def work(session: Session, now: datetime) -> Reply:
        redemption, created = service.redeem(
            session,
            reward_id=reward_id,
            member_id=member_id,
            key=key,
            now=now,
            channel=body.channel,
            points=body.points,
            amount_minor=body.amount_minor,
        )
        return Reply.of(queries.redemption_read(session, redemption), 201 if created else 200)

    return await write(work)
