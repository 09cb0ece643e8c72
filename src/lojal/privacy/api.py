"""``/members/{id}/export`` and ``/members/{id}/erase``: a person's rights over their data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from lojal.privacy import erasure
from lojal.privacy.export import export_member
from lojal.web.deps import API_PREFIX, Admin, AdminWrite, MemberIdPath, NowDep, SessionDep
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["privacy"])


class ExportRead(BaseModel):
    format: str
    member_id: int
    merged: list[int]
    exported_at: str
    tables: dict[str, list[dict[str, Any]]]


class ErasedRead(BaseModel):
    member_id: int
    members: list[int]
    removed: dict[str, int]
    already: bool


@router.get("/members/{member_id}/export", response_model=ExportRead)
def export(member_id: MemberIdPath, session: SessionDep, now: NowDep, _: Admin) -> ExportRead:
    """Everything lojal stores about the member (and the members merged into them)."""
    return ExportRead.model_validate(export_member(session, member_id, now=now))


@router.post("/members/{member_id}/erase", response_model=ErasedRead)
async def erase(member_id: MemberIdPath, write: AdminWrite) -> Response:
    """Close the membership and remove the person's personal data; the ledger, the receipts
    and the statistics stay under the pseudonymous member id."""

    def work(session: Session, now: datetime) -> Reply:
        done = erasure.erase(session, member_id=member_id, now=now)
        return Reply.of(
            ErasedRead(
                member_id=done.member_id,
                members=done.members,
                removed=done.removed,
                already=done.already,
            ),
            200,
        )

    return await write(work)
