"""What a member merge does to rewards: the merged member's reward redemptions (what it
spent points on) and the partner codes given to it become the target's, so the target's
history shows them and a reward's limit per member counts both halves. See
``lojal.members.merging``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lojal.rewards.models import PartnerCode, RewardRedemption

TABLES = {"reward_redemptions": "moved", "partner_codes": "moved"}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, model in (("redemptions", RewardRedemption), ("partner_codes", PartnerCode)):
        count = session.scalar(
            select(func.count()).select_from(model).where(model.member_id == source_id)
        )
        if count:
            session.execute(
                update(model).where(model.member_id == source_id).values(member_id=target_id)
            )
            out[name] = int(count)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (RewardRedemption, PartnerCode)):
            session.expire(obj, ["member_id"])
    return out
