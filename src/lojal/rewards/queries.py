"""Reads: rewards, their partner code pools, and members' redemptions."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.coupons.codes import display
from lojal.coupons.models import CouponCode
from lojal.rewards.errors import RewardNotFound
from lojal.rewards.models import PartnerCode, Reward, RewardRedemption
from lojal.rewards.schemas import IssuedCoupon, RedemptionRead, RewardRead


def get_reward(session: Session, reward_id: int) -> Reward:
    reward = session.get(Reward, reward_id)
    if reward is None:
        raise RewardNotFound(f"reward {reward_id} does not exist")
    return reward


def find_reward(session: Session, ref: str) -> Reward:
    """A reward by its code, or by its id (the CLI takes either)."""
    reward = session.scalar(select(Reward).where(Reward.code == ref))
    if reward is None and ref.isdigit():
        reward = session.get(Reward, int(ref))
    if reward is None:
        raise RewardNotFound(f"no reward {ref!r}")
    return reward


def list_rewards(session: Session) -> list[Reward]:
    return list(session.scalars(select(Reward).order_by(Reward.id)))


def partner_codes_left(session: Session, reward_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(PartnerCode)
            .where(PartnerCode.reward_id == reward_id, PartnerCode.redemption_id.is_(None))
        )
        or 0
    )


def find_redemption(session: Session, key: str) -> RewardRedemption | None:
    return session.scalar(select(RewardRedemption).where(RewardRedemption.key == key))


def redemption_parts(
    session: Session, redemption: RewardRedemption
) -> tuple[Reward, CouponCode | None, PartnerCode | None]:
    reward = get_reward(session, redemption.reward_id)
    code = session.get(CouponCode, redemption.coupon_code_id) if redemption.coupon_code_id else None
    partner = session.scalar(select(PartnerCode).where(PartnerCode.redemption_id == redemption.id))
    return reward, code, partner


def member_redemptions(
    session: Session, member_id: int, limit: int = 100
) -> list[RewardRedemption]:
    return list(
        session.scalars(
            select(RewardRedemption)
            .where(RewardRedemption.member_id == member_id)
            .order_by(RewardRedemption.id.desc())
            .limit(limit)
        )
    )


def member_redemption(
    session: Session, member_id: int, redemption_id: int
) -> RewardRedemption | None:
    """The member's redemption ``redemption_id``; None when it is unknown or another member's."""
    return session.scalar(
        select(RewardRedemption).where(
            RewardRedemption.id == redemption_id, RewardRedemption.member_id == member_id
        )
    )


def redemptions_per_reward(session: Session, member_id: int) -> dict[int, int]:
    """How many times the member has redeemed each reward."""
    return {
        int(reward_id): int(n)
        for reward_id, n in session.execute(
            select(RewardRedemption.reward_id, func.count())
            .where(RewardRedemption.member_id == member_id)
            .group_by(RewardRedemption.reward_id)
        ).all()
    }


def partner_codes_per_reward(session: Session) -> dict[int, int]:
    """The partner codes not yet given out, per reward."""
    return {
        int(reward_id): int(n)
        for reward_id, n in session.execute(
            select(PartnerCode.reward_id, func.count())
            .where(PartnerCode.redemption_id.is_(None))
            .group_by(PartnerCode.reward_id)
        ).all()
    }


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
        partner_codes_left=partner_codes_left(session, reward.id)
        if reward.kind == "partner"
        else None,
        active=reward.active,
    )


def redemption_read(session: Session, redemption: RewardRedemption) -> RedemptionRead:
    reward, code, partner = redemption_parts(session, redemption)
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
