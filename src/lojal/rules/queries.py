"""Reads: what the capped rules have already given a member in their cap's current period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.rules.engine import cap_window
from lojal.rules.facts import RuleSet
from lojal.rules.models import RuleAward


def used_points(
    session: Session, *, ruleset: RuleSet, member_id: int, at: datetime
) -> dict[str, int]:
    used: dict[str, int] = {}
    for rule in ruleset.capped:
        assert rule.cap is not None
        query = select(func.coalesce(func.sum(RuleAward.points), 0)).where(
            RuleAward.member_id == member_id, RuleAward.rule_id == rule.id
        )
        window = cap_window(rule.cap.period, at, ruleset.timezone)
        if window is not None:
            query = query.where(RuleAward.awarded_at >= window[0], RuleAward.awarded_at < window[1])
        used[rule.id] = int(session.scalar(query) or 0)
    return used
