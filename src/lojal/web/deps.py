"""Request dependencies: the session (one transaction per request, committed before the
response is sent), the clock, the programme, and the caller's API key."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from lojal.clock import Clock
from lojal.config import Settings
from lojal.db.session import transaction
from lojal.db.types import MAX_ID
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.staff import service as staff
from lojal.staff.errors import InvalidApiKey, MissingScope
from lojal.staff.service import Principal

bearer = HTTPBearer(auto_error=False, description="An API key from `lojal keys create`")
AUTH_CACHE_SECONDS = 10.0


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_now(clock: Annotated[Clock, Depends(get_clock)]) -> datetime:
    return clock.now()


def get_session(request: Request) -> Iterator[Session]:
    read_only = request.method in ("GET", "HEAD")
    with transaction(request.app.state.session_factory, read_only=read_only) as session:
        yield session


MemberIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The member's id")]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]


def get_program(session: SessionDep) -> ProgramConfig:
    return program_service.current(session)


ProgramDep = Annotated[ProgramConfig, Depends(get_program)]


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise InvalidApiKey("send an API key as 'Authorization: Bearer <key>'")
    token = credentials.credentials
    cache: dict[str, tuple[float, Principal]] = request.app.state.auth_cache
    hit = cache.get(token)
    if hit is not None and hit[0] > time.monotonic():
        principal = hit[1]
    else:
        with transaction(request.app.state.session_factory, read_only=True) as session:
            principal = staff.authenticate(
                session, token=token, pepper=request.app.state.settings.api_key_pepper
            )
        if len(cache) > 10_000:
            cache.clear()
        cache[token] = (time.monotonic() + AUTH_CACHE_SECONDS, principal)
    request.state.principal = principal
    return principal


def require(*scopes: str) -> Callable[[Principal], Principal]:
    """A key with ``admin`` or any of ``scopes`` may pass."""

    def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not any(principal.allows(scope) for scope in scopes):
            raise MissingScope(f"this API key needs one of the scopes: {', '.join(scopes)}")
        return principal

    return check


Admin = Annotated[Principal, Depends(require("admin"))]
# Tills, web shops and apps: anything a channel does for a member.
Channel = Annotated[Principal, Depends(require("pos", "integration"))]
