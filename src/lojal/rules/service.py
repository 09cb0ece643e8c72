"""Glue between the pure engine and the database: recording what capped rules have given (the
reads are in ``rules.queries``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from lojal.rules.facts import Award, RuleSet
from lojal.rules.models import RuleAward
from lojal.rules.queries import used_points

# activities.service reads the cap usage through this module; it moves to rules.queries with the
# award path's restructure.
__all__ = ["record_usage", "used_points"]


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
