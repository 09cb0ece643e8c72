"""``GET /audit``: the audit trail, newest first, filtered by what changed or whom it is about."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from lojal.audit.models import AuditRecord
from lojal.db.types import MAX_ID
from lojal.web.deps import API_PREFIX, Admin, SessionDep

router = APIRouter(prefix=API_PREFIX, tags=["audit"])


class AuditRead(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    about_member_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    redacted_at: datetime | None


class AuditPage(BaseModel):
    records: list[AuditRead]
    # the id to pass as ``before`` for the next (older) page; null on the last
    next_before: int | None


@router.get("/audit", response_model=AuditPage)
def audit_log(
    session: SessionDep,
    _: Admin,
    entity: Annotated[str | None, Query(max_length=50)] = None,
    entity_id: Annotated[str | None, Query(max_length=100)] = None,
    about_member_id: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    before: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPage:
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit + 1)
    if entity is not None:
        query = query.where(AuditRecord.entity == entity)
    if entity_id is not None:
        query = query.where(AuditRecord.entity_id == entity_id)
    if about_member_id is not None:
        query = query.where(AuditRecord.about_member_id == about_member_id)
    if actor is not None:
        query = query.where(AuditRecord.actor == actor)
    if before is not None:
        query = query.where(AuditRecord.id < before)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        records=[AuditRead.model_validate(r, from_attributes=True) for r in rows],
        next_before=rows[-1].id if more and rows else None,
    )
