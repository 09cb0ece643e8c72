from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from lojal.program import service
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
