"""Glue between the pure engine and the database: what capped rules have already given."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.rules.engine import Award, RuleSet, cap_window
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


def record_usage(
    session: Session,
    *,
    ruleset: RuleSet,
    award: Award,
    member_id: int,
    entry_id: int,
    at: datetime,
) -> None:
    capped = {rule.id for rule in ruleset.capped}
    for rule_id, points in award.by_rule.items():
        if rule_id in capped:
            session.add(
                RuleAward(
                    member_id=member_id,
                    rule_id=rule_id,
                    entry_id=entry_id,
                    points=points,
                    awarded_at=at,
                )
            )
