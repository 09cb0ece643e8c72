from __future__ import annotations

from fastapi import APIRouter

from lojal.program import service
from lojal.program.schemas import ProgramConfig, ProgramRead
from lojal.web.deps import Admin, NowDep, SessionDep

router = APIRouter(tags=["program"])


@router.get("/program", response_model=ProgramRead)
def show(session: SessionDep, _: Admin) -> ProgramRead:
    program = service.get(session)
    return ProgramRead(version=program.version, config=service.current(session))


@router.put("/program", response_model=ProgramRead)
def apply(body: ProgramConfig, session: SessionDep, now: NowDep, _: Admin) -> ProgramRead:
    program = service.apply(session, config=body, source=None, now=now)
    return ProgramRead(version=program.version, config=body)
