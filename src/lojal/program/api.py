from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.program import service
from lojal.program.models import ProgramVersion
from lojal.program.schemas import ProgramConfig, ProgramRead
from lojal.web.deps import API_PREFIX, Admin, AdminWrite, SessionDep
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["program"])


@router.get("/program", response_model=ProgramRead)
def show(session: SessionDep, _: Admin) -> ProgramRead:
    program = service.get(session)
    return ProgramRead(version=program.version, config=service.current(session))


@router.put("/program", response_model=ProgramRead)
async def apply(body: ProgramConfig, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        program = service.apply(session, config=body, source=None, now=now)
        return Reply.of(ProgramRead(version=program.version, config=body), 200)

    return await write(work)


class ProgramVersionRead(BaseModel):
    version: int
    applied_at: datetime
    applied_by: str
    config: dict[str, Any]


@router.get("/program/versions", response_model=list[ProgramVersionRead])
def versions(session: SessionDep, _: Admin) -> list[ProgramVersionRead]:
    """Every programme applied, newest first, with who applied it."""
    rows = session.scalars(select(ProgramVersion).order_by(ProgramVersion.version.desc()))
    return [ProgramVersionRead.model_validate(r, from_attributes=True) for r in rows]
