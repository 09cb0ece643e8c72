"""Reading the alerts: newest first, open ones or all, for a member or a kind."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.fraud.models import FraudAlert
from lojal.fraud.schemas import AlertPage, AlertRead


def alerts(
    session: Session,
    *,
    open_only: bool = True,
    kind: str | None = None,
    member_id: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> AlertPage:
    query = select(FraudAlert).order_by(FraudAlert.id.desc()).limit(limit + 1)
    if open_only:
        query = query.where(FraudAlert.acknowledged_at.is_(None))
    if kind is not None:
        query = query.where(FraudAlert.kind == kind)
    if member_id is not None:
        query = query.where(FraudAlert.member_id == member_id)
    if before is not None:
        query = query.where(FraudAlert.id < before)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return AlertPage(
        alerts=[AlertRead.model_validate(r, from_attributes=True) for r in rows],
        next_before=rows[-1].id if more and rows else None,
    )
