"""What every page request goes through: signed session cookies, the CSRF check of every
form, the signed-in staff member and their role, the signed-in member.

Cookies are signed with ``Settings.session_secret`` (``itsdangerous``), HttpOnly,
SameSite=Lax, and Secure outside development. The token inside opens a session row (see
``lojal.pages.accounts``), so a signed cookie whose row is gone opens nothing.

CSRF: a signed-in form carries its session's token in a hidden ``csrf`` field; the sign-in
forms (no session yet) carry the token of a ``lojal_csrf`` cookie set with the form (the
double-submit pattern). A POST without the right token is refused (403) before anything runs.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, Signer

from lojal.config import Settings
from lojal.pages import accounts, portal_access
from lojal.pages.accounts import Staff
from lojal.pages.errors import CsrfRefused, NotAllowed, NotSignedIn
from lojal.pages.portal_access import MemberVisit
from lojal.pages.roles import allows
from lojal.web.deps import SessionDep

STAFF_COOKIE = "lojal_staff"
MEMBER_COOKIE = "lojal_member"
CSRF_COOKIE = "lojal_csrf"


def _signer(settings: Settings, purpose: str) -> Signer:
    return Signer(settings.session_secret, salt=f"lojal.pages.{purpose}")


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def now_of(request: Request) -> datetime:
    now: datetime = request.app.state.clock.now()
    return now


def address_of(request: Request) -> str:
    """The caller's address (behind a trusted proxy, uvicorn has already put the forwarded
    one here: ``Settings.trusted_proxies``)."""
    return request.client.host if request.client else "unknown"


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None
) -> None:
    settings = settings_of(request)
    response.set_cookie(
        name,
        _signer(settings, name).sign(value).decode(),
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.environment != "development",
    )


def read_cookie(request: Request, name: str) -> str | None:
    raw = request.cookies.get(name)
    if not raw:
        return None
    try:
        return _signer(settings_of(request), name).unsign(raw).decode()
    except BadSignature:
        return None


def forget_cookie(request: Request, response: Response, name: str) -> None:
    settings = settings_of(request)
    response.delete_cookie(
        name,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.environment != "development",
    )


def form_token(request: Request) -> str:
    """The token a sign-in form carries: the ``lojal_csrf`` cookie's, or a new one (which
    ``keep_form_token`` then sets with the form's response)."""
    return read_cookie(request, CSRF_COOKIE) or secrets.token_urlsafe(32)


def keep_form_token(request: Request, response: Response, token: str) -> None:
    set_cookie(request, response, CSRF_COOKIE, token, max_age=None)


def check_csrf(sent: str | None, expected: str | None) -> None:
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise CsrfRefused("The form has expired or did not come from this site. Try again.")


def check_form_token(request: Request, sent: str | None) -> None:
    check_csrf(sent, read_cookie(request, CSRF_COOKIE))


def signed_in_staff(request: Request, session: SessionDep) -> Staff:
    token = read_cookie(request, STAFF_COOKIE)
    staff = None if token is None else accounts.staff_of(session, token=token, now=now_of(request))
    if staff is None:
        raise NotSignedIn("sign in to continue")
    # the audit trail's actor for what this request changes (lojal.audit.capture)
    session.info["actor"] = f"staff:{staff.email}"
    return staff


def staff_with(permission: str) -> Callable[..., Staff]:
    """A dependency: the signed-in staff member, if their role allows ``permission``."""

    def dependency(staff: Annotated[Staff, Depends(signed_in_staff)]) -> Staff:
        if not allows(staff.role, permission):
            raise NotAllowed(f"the role {staff.role} may not do this ({permission})")
        return staff

    return dependency


def signed_in_member(request: Request, session: SessionDep) -> MemberVisit:
    token = read_cookie(request, MEMBER_COOKIE)
    visit = (
        None if token is None else portal_access.visit_of(session, token=token, now=now_of(request))
    )
    if visit is None:
        raise NotSignedIn("sign in to continue")
    return visit


AnyStaff = Annotated[Staff, Depends(signed_in_staff)]
DashboardStaff = Annotated[Staff, Depends(staff_with("dashboard"))]
MemberViewer = Annotated[Staff, Depends(staff_with("members.view"))]
PointsAdjuster = Annotated[Staff, Depends(staff_with("points.adjust"))]
ProgramViewer = Annotated[Staff, Depends(staff_with("program.view"))]
SegmentViewer = Annotated[Staff, Depends(staff_with("segments.view"))]
SegmentEditor = Annotated[Staff, Depends(staff_with("segments.edit"))]
SignedInMember = Annotated[MemberVisit, Depends(signed_in_member)]
