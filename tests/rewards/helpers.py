"""Builders for reward tests."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.ledger import service as ledger
from lojal.members.models import Member
from lojal.program.schemas import ProgramConfig
from lojal.rewards import service
from lojal.rewards.models import Reward, RewardRedemption
from lojal.rewards.schemas import RewardCreate
from tests.factories import make_member

_seq = itertools.count(1)

KINDS: dict[str, dict[str, Any]] = {
    "coupon": {"coupon": {"discount_kind": "amount", "amount_minor": 5_000}},
    "product": {"product_sku": "LATTE"},
    "partner": {},
    "experience": {"stock": 10},
    "points_payment": {},
}


def reward(session: Session, clock: FixedClock, kind: str = "coupon", **kw: Any) -> Reward:
    n = next(_seq)
    data: dict[str, Any] = {"code": f"reward-{n}", "name": f"Reward {n}", "kind": kind}
    if kind != "points_payment":
        data["points_price"] = 100
    data.update(KINDS[kind])
    data.update(kw)
    return service.create_reward(session, data=RewardCreate.model_validate(data), now=clock.now())


def grant(
    session: Session, clock: FixedClock, config: ProgramConfig, member_id: int, points: int
) -> None:
    """Available points, as one lot earned now."""
    ledger.adjust(
        session,
        member_id=member_id,
        points=points,
        reason="test",
        key=f"grant:{next(_seq)}",
        now=clock.now(),
        config=config,
    )


def member_with(
    session: Session, clock: FixedClock, config: ProgramConfig, points: int, **kw: Any
) -> Member:
    member = make_member(session, clock, **kw)
    if points:
        grant(session, clock, config, member.id, points)
    return member


def redeem(
    session: Session,
    clock: FixedClock,
    reward: Reward,
    member: Member,
    key: str | None = None,
    **kw: Any,
) -> RewardRedemption:
    redemption, _ = service.redeem(
        session,
        reward_id=reward.id,
        member_id=member.id,
        key=key or f"{member.id}:ref:{next(_seq)}",
        now=clock.now(),
        **kw,
    )
    return redemption


def later(clock: FixedClock, days: int = 1) -> None:
    clock.advance(timedelta(days=days))
