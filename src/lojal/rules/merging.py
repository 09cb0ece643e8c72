"""What a member merge does to the capped rules' usage: the merged member's ``rule_awards`` become
the target's, so the target's caps count what both were given. See ``lojal.members.merging``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from lojal.rules.models import RuleAward

TABLES = {"rule_awards": "moved"}  # what capped rules gave: the target's caps count both


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, int]:
    session.execute(
        update(RuleAward).where(RuleAward.member_id == source_id).values(member_id=target_id)
    )
    return {}
