from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy.orm import Session

from lojal.coupons.codes import display
from lojal.inputs import MAX_ID
from lojal.rewards import queries, service
from lojal.rewards.models import Reward, RewardRedemption
from lojal.rewards.schemas import (
    AffordableReward,
    IssuedCoupon,
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


def reward_read(session: Session, reward: Reward) -> RewardRead:
    return RewardRead(
        id=reward.id,
        code=reward.code,
        name=reward.name,
        description=reward.description,
        kind=reward.kind,
        points_price=reward.points_price,
        valid_from=reward.valid_from,
        valid_until=reward.valid_until,
        stock=reward.stock,
        tiers=reward.tiers,
        limit_per_member=reward.limit_per_member,
        campaign_id=reward.campaign_id,
        coupon_valid_days=reward.coupon_valid_days,
        min_points=reward.min_points,
        max_points=reward.max_points,
        partner_codes_left=queries.partner_codes_left(session, reward.id)
        if reward.kind == "partner"
        else None,
        active=reward.active,
    )


def redemption_read(session: Session, redemption: RewardRedemption) -> RedemptionRead:
    reward, code, partner = queries.redemption_parts(session, redemption)
    return RedemptionRead(
        id=redemption.id,
        reward_id=reward.id,
        reward_code=reward.code,
        member_id=redemption.member_id,
        points=redemption.points,
        coupon=IssuedCoupon(
            code=code.code,
            display=display(code.code),
            amount_minor=code.amount_minor,
            expires_at=code.expires_at,
        )
        if code is not None
        else None,
        partner_code=partner.code if partner is not None else None,
        amount_minor=redemption.amount_minor,
        created_at=redemption.created_at,
    )


@router.post("/rewards", response_model=RewardRead, status_code=201)
async def create_reward(body: RewardCreate, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(
            reward_read(session, service.create_reward(session, data=body, now=now)), 201
        )

    return await write(work)


@router.get("/rewards", response_model=list[RewardRead])
def list_rewards(session: SessionDep, _: Catalogue) -> list[RewardRead]:
    return [reward_read(session, r) for r in queries.list_rewards(session)]


@router.get("/rewards/{reward_id}", response_model=RewardRead)
def get_reward(reward_id: RewardIdPath, session: SessionDep, _: Catalogue) -> RewardRead:
    return reward_read(session, queries.get_reward(session, reward_id))


@router.patch("/rewards/{reward_id}", response_model=RewardRead)
async def update_reward(reward_id: RewardIdPath, body: RewardUpdate, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        reward = service.update_reward(session, reward_id=reward_id, data=body, now=now)
        return Reply.of(reward_read(session, reward), 200)

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
    return [redemption_read(session, r) for r in queries.member_redemptions(session, member_id)]


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
            "PartnerPoolEmpty, RewardLimitReached"
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
        return Reply.of(redemption_read(session, redemption), 201 if created else 200)

    return await write(work)
