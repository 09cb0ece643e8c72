"""The segments in the admin: the list, and the visual filter builder (``/staff/segments/new``)
whose script (``static/segment-builder.js``, served by lojal, no library) writes the segment
definition JSON of ``lojal.segments.definition`` as the marketer picks conditions, asks for a
live count (``POST /staff/segments/preview``: the same ``segments.queries.preview`` as
``POST /api/v1/segments/preview``) and saves it through ``segments.service.create``.

Owners and marketers build and save; read-only accounts see the list; store staff neither
(``lojal.pages.roles``). The count is a JSON POST with the session's CSRF token in the
``X-CSRF-Token`` header.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.orm import Session

from lojal.db.session import transaction
from lojal.insight.rfm import GROUPS
from lojal.members.models import CHANNELS
from lojal.pages.roles import allows
from lojal.pages.security import (
    SegmentEditor,
    SegmentViewer,
    check_csrf,
    now_of,
)
from lojal.pages.templating import render
from lojal.segments import queries, service
from lojal.segments.definition import parse_definition
from lojal.segments.errors import NotAStaticList, SegmentCodeTaken
from lojal.segments.schemas import SegmentCreate, SegmentUpdate
from lojal.web.deps import SessionDep

router = APIRouter(prefix="/staff/segments", include_in_schema=False)


def _read_session(request: Request) -> Iterator[Session]:
    """A read-only transaction for the count, a POST that only reads."""
    with transaction(request.app.state.session_factory, read_only=True) as session:
        yield session


ReadSession = Annotated[Session, Depends(_read_session, scope="function")]
MAX_DEFINITION = 100_000

# What the builder offers: member fields (path, label, kind, choices) — a subset of
# ``segments.fields.MEMBER`` a marketer reaches for; anything else goes through the API.
FIELDS: list[dict[str, Any]] = [
    {"path": "member.tier", "label": "Tier", "kind": "text"},
    {"path": "member.points", "label": "Points available", "kind": "number"},
    {"path": "member.points_pending", "label": "Points pending", "kind": "number"},
    {"path": "member.consent.email", "label": "Email consent", "kind": "bool"},
    {"path": "member.consent.sms", "label": "SMS consent", "kind": "bool"},
    {
        "path": "member.enrolment_channel",
        "label": "Enrolment channel",
        "kind": "choice",
        "choices": list(CHANNELS),
    },
    {"path": "member.store_id", "label": "Home store", "kind": "text"},
    {"path": "member.rfm.group", "label": "RFM group", "kind": "choice", "choices": list(GROUPS)},
    {"path": "member.rfm.r", "label": "RFM recency (1–5)", "kind": "number"},
    {"path": "member.churn_risk", "label": "Churn risk (0–1)", "kind": "number"},
    {"path": "member.p_alive", "label": "Probability alive (0–1)", "kind": "number"},
    {"path": "member.clv_minor", "label": "CLV (minor units)", "kind": "number"},
]


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    definition: dict[str, Any]


def _problem(exc: ValidationError) -> str:
    """Pydantic's complaints, each with the place in the definition it is about."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
        parts.append(f"{where or 'definition'}: {error['msg']}")
    return "; ".join(parts)


def _builder(
    request: Request,
    staff: Any,
    *,
    status: int = 200,
    message: str = "",
    form: dict[str, str],
    editing: str | None = None,
) -> Response:
    """The builder's page; ``editing``: the code of the saved segment it changes."""
    return render(
        request,
        "staff/segment_new.html",
        status=status,
        scripted=True,
        staff=staff,
        allows=allows,
        fields=json.dumps(FIELDS),
        message=message,
        form=form,
        editing=editing,
    )


@router.get("")
def segments_page(
    request: Request, session: SessionDep, staff: SegmentViewer, message: str = ""
) -> Response:
    rows = [queries.segment_read(session, s) for s in queries.list_segments(session)]
    return render(
        request, "staff/segments.html", staff=staff, allows=allows, rows=rows, message=message
    )


@router.get("/new")
def builder_page(request: Request, staff: SegmentEditor) -> Response:
    return _builder(request, staff, form={"code": "", "name": "", "description": ""})


@router.post("/preview")
def preview(
    request: Request, session: ReadSession, staff: SegmentEditor, body: PreviewBody
) -> Response:
    check_csrf(request.headers.get("x-csrf-token"), staff.csrf_token)
    try:
        definition = parse_definition(body.definition)
    except ValidationError as exc:
        return _refused(_problem(exc))
    count, _ = queries.preview(session, definition, now=now_of(request), sample=0)
    return JSONResponse({"count": count}, headers={"Cache-Control": "no-store"})


def _refused(detail: str) -> Response:
    return JSONResponse({"error": "InvalidSegment", "detail": detail}, status_code=422)


@router.post("")
def save(
    request: Request,
    session: SessionDep,
    staff: SegmentEditor,
    code: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=200)],
    definition: Annotated[str, Form(max_length=MAX_DEFINITION)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(csrf, staff.csrf_token)
    form = {"code": code, "name": name, "description": description}
    try:
        parsed = json.loads(definition) if definition.strip() else None
    except ValueError:
        return _builder(request, staff, status=422, message="definition: not JSON", form=form)
    try:
        data = SegmentCreate.model_validate(
            {
                "code": code,
                "name": name,
                "description": description or None,
                "kind": "dynamic",
                "definition": parsed,
            }
        )
    except ValidationError as exc:
        return _builder(request, staff, status=422, message=_problem(exc), form=form)
    try:
        segment = service.create(session, data=data, now=now_of(request))
    except SegmentCodeTaken as exc:
        return _builder(request, staff, status=409, message=f"code: {exc.detail}", form=form)
    return RedirectResponse(f"/staff/segments?message=saved:{segment.code}", status_code=303)


@router.get("/{code}/edit")
def edit_page(
    request: Request,
    session: SessionDep,
    staff: SegmentEditor,
    code: Annotated[str, Path(max_length=64)],
) -> Response:
    segment = queries.get(session, code)
    if segment.kind != "dynamic":
        raise NotAStaticList("a static list has no definition to edit", field="definition")
    read = queries.segment_read(session, segment)
    form = {
        "code": segment.code,
        "name": segment.name,
        "description": segment.description or "",
        "definition": json.dumps(read.definition, indent=2) if read.definition else "",
    }
    return _builder(request, staff, form=form, editing=segment.code)


@router.post("/{code}")
def save_edit(
    request: Request,
    session: SessionDep,
    staff: SegmentEditor,
    code: Annotated[str, Path(max_length=64)],
    name: Annotated[str, Form(max_length=200)],
    definition: Annotated[str, Form(max_length=MAX_DEFINITION)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(csrf, staff.csrf_token)
    segment = queries.get(session, code)
    form = {
        "code": segment.code,
        "name": name,
        "description": description,
        "definition": definition,
    }
    try:
        parsed = json.loads(definition)
    except ValueError:
        return _builder(
            request, staff, status=422, message="definition: not JSON", form=form, editing=code
        )
    try:
        data = SegmentUpdate.model_validate(
            {"name": name, "description": description or None, "definition": parsed}
        )
    except ValidationError as exc:
        return _builder(request, staff, status=422, message=_problem(exc), form=form, editing=code)
    if data.definition is None:
        return _builder(
            request, staff, status=422, message="definition: required", form=form, editing=code
        )
    service.update(session, segment=segment.id, data=data, now=now_of(request))
    return RedirectResponse(f"/staff/segments?message=saved:{segment.code}", status_code=303)
