"""A member app signs its member in and out (``lojal.access.service`` tells the flow)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from lojal.access import service
from lojal.access.errors import SignInCodeInvalid
from lojal.access.schemas import (
    CodeRequest,
    CodeRequested,
    SessionClosed,
    SessionOpen,
    SessionOpened,
)
from lojal.program import service as program_service
from lojal.web.deps import API_PREFIX, AppWrite, MemberOnlyWrite, SettingsDep
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["member sessions"])


@router.post("/member-sessions/code", response_model=CodeRequested, status_code=202)
async def request_code(body: CodeRequest, settings: SettingsDep, write: AppWrite) -> Response:
    """Email a one-time sign-in code to the member with this email (an app's publishable
    key). The answer is the same whether or not the email is a member's."""

    def work(session: Session, now: datetime) -> Reply:
        config = program_service.current(session)
        service.request_code(
            session,
            app=write.principal,
            email=body.email,
            club=config.name,
            club_timezone=config.timezone,
            pepper=settings.api_key_pepper,
            now=now,
        )
        seconds = int(service.CODE_LIFETIME.total_seconds())
        return Reply.of(CodeRequested(sent=True, expires_in_seconds=seconds), 202)

    return await write(work)


@router.post("/member-sessions", response_model=SessionOpened, status_code=201)
async def open_session(body: SessionOpen, settings: SettingsDep, write: AppWrite) -> Response:
    """Exchange the emailed code for a member session (a wrong code: 422 ``SignInCodeInvalid``;
    the fifth wrong try burns the code)."""

    def work(session: Session, now: datetime) -> Reply:
        opened = service.open_session(
            session,
            app=write.principal,
            email=body.email,
            code=body.code,
            pepper=settings.api_key_pepper,
            now=now,
        )
        if isinstance(opened, SignInCodeInvalid):
            return Reply.error(opened)  # the counted try commits
        read = SessionOpened(
            token=opened.token,
            member_id=opened.session.member_id,
            expires_at=opened.session.expires_at,
        )
        return Reply.of(read, 201)

    return await write(work)


@router.delete("/member-sessions/current", response_model=SessionClosed)
async def sign_out(write: MemberOnlyWrite) -> Response:
    """Sign the member out: the token is refused from the next request on, by every server."""
    session_id = write.principal.session_id
    assert session_id is not None  # a member session's principal

    def work(session: Session, now: datetime) -> Reply:
        service.sign_out(session, session_id=session_id, now=now)
        return Reply.of(SessionClosed(signed_out=True), 200)

    return await write(work)
