"""The staff's pages under ``/staff``: sign-in, the dashboard, finding a member and the
member 360 with point adjustments, the programme settings. Each route parses, makes one
service call and renders; what a role may do is checked by its dependency
(``lojal.pages.security``)."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from lojal.calendar import local_day
from lojal.i18n import format_money
from lojal.ledger import service as ledger
from lojal.members import service as members
from lojal.pages import accounts, dashboard, insight_board, member360
from lojal.pages.errors import LockedOut
from lojal.pages.roles import allows
from lojal.pages.security import (
    STAFF_COOKIE,
    AnyStaff,
    DashboardStaff,
    MemberViewer,
    PointsAdjuster,
    ProgramViewer,
    address_of,
    check_csrf,
    check_form_token,
    forget_cookie,
    form_token,
    keep_form_token,
    now_of,
    read_cookie,
    set_cookie,
)
from lojal.pages.templating import render
from lojal.program import service as program_service
from lojal.web.deps import SessionDep

router = APIRouter(prefix="/staff", include_in_schema=False)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request, 200, "")


def _sign_in_page(request: Request, status: int, message: str) -> Response:
    token = form_token(request)
    response = render(request, "staff/sign_in.html", status=status, csrf=token, message=message)
    keep_form_token(request, response, token)
    return response


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_form_token(request, csrf)
    try:
        result = accounts.sign_in(
            session,
            email=email,
            password=password,
            address=address_of(request),
            now=now_of(request),
        )
    except LockedOut as exc:
        return _sign_in_page(request, 429, exc.detail)
    if result is None:
        return _sign_in_page(request, 401, "The email or the password is wrong.")
    staff, token = result
    response = _see_other("/staff/" if allows(staff.role, "dashboard") else "/staff/members")
    set_cookie(
        request,
        response,
        STAFF_COOKIE,
        token,
        max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
    )
    return response


@router.post("/sign-out")
def sign_out(
    request: Request,
    session: SessionDep,
    staff: AnyStaff,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(csrf, staff.csrf_token)
    token = read_cookie(request, STAFF_COOKIE)
    if token:
        accounts.sign_out(session, token=token)
    response = _see_other("/staff/sign-in")
    forget_cookie(request, response, STAFF_COOKIE)
    return response


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _period(
    session: Session, request: Request, start: str | None, end: str | None
) -> tuple[dashboard.Period, object]:
    config = program_service.current(session)
    today = local_day(now_of(request), ZoneInfo(config.timezone))
    first, last = dashboard.default_period(today)
    first, last = _day(start) or first, _day(end) or last
    if last < first:
        first, last = last, first
    return dashboard.Period.of(first, last, config.timezone), config


@router.get("/")
def dashboard_page(
    request: Request,
    session: SessionDep,
    staff: DashboardStaff,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    period, config = _period(session, request, start, end)
    board = dashboard.build(session, config=config, period=period)  # type: ignore[arg-type]
    insight = insight_board.build(session)
    return render(
        request,
        "staff/dashboard.html",
        staff=staff,
        board=board,
        insight=insight,
        allows=allows,
    )


@router.get("/dashboard/{chart}.csv")
def dashboard_csv(
    request: Request,
    session: SessionDep,
    staff: DashboardStaff,
    chart: str,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    period, config = _period(session, request, start, end)
    board = dashboard.build(session, config=config, period=period)  # type: ignore[arg-type]
    insight = insight_board.build(session)
    charts = [*board.charts, *(insight.charts if insight else [])]
    found = next((c for c in charts if c.id == chart), None)
    if found is None:
        return render(
            request,
            "error.html",
            status=404,
            staff=staff,
            allows=allows,
            title="Not found",
            message="There is no such chart.",
        )
    out = io.StringIO()
    csv.writer(out).writerows(found.rows())
    name = f"{chart}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/members")
def find_members(
    request: Request,
    session: SessionDep,
    staff: MemberViewer,
    q: Annotated[str, Query(max_length=320)] = "",
) -> Response:
    config = program_service.current(session)
    found = member360.find(session, q, region=config.phone_region) if q else []
    if len(found) == 1 and q:
        return _see_other(f"/staff/members/{found[0].id}")
    return render(request, "staff/members.html", staff=staff, allows=allows, q=q, found=found)


@router.get("/members/{member_id}")
def member_page(
    request: Request,
    session: SessionDep,
    staff: MemberViewer,
    member_id: int,
    message: str = "",
) -> Response:
    config = program_service.current(session)
    member = members.get(session, member_id)
    view = member360.read(session, member, now=now_of(request))
    return render(
        request,
        "staff/member.html",
        staff=staff,
        allows=allows,
        view=view,
        config=config,
        money=format_money,
        message=message,
        form_key=secrets.token_urlsafe(12),
    )


@router.post("/members/{member_id}/points")
def adjust_points(
    request: Request,
    session: SessionDep,
    staff: PointsAdjuster,
    member_id: int,
    points: Annotated[int, Form(ge=-10_000_000, le=10_000_000)],
    reason: Annotated[str, Form(max_length=500)],
    key: Annotated[str, Form(min_length=8, max_length=64)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(csrf, staff.csrf_token)
    config = program_service.current(session)
    member = members.get_active(session, member_id)
    ledger.adjust(
        session,
        member_id=member.id,
        points=points,
        reason=reason,
        key=f"adjust:{member.id}:page:{key}",
        now=now_of(request),
        config=config,
        actor=f"staff:{staff.email}",
    )
    return _see_other(f"/staff/members/{member.id}?message=adjusted")


@router.get("/program")
def program_page(request: Request, session: SessionDep, staff: ProgramViewer) -> Response:
    config = program_service.current(session)
    source = program_service.get(session).source
    return render(
        request, "staff/program.html", staff=staff, allows=allows, config=config, source=source
    )
