"""``/api/v1/journeys``: define journeys, switch them on and off, read their runs and figures;
``/api/v1/journey-policies``: the channels' caps and quiet hours; ``/api/v1/journey-control``:
the club's global control group."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from lojal.inputs import MAX_ID
from lojal.insight.lift import DEFAULT_CONFIDENCE
from lojal.journeys import queries, service
from lojal.journeys.definition import JourneyDefinition
from lojal.journeys.errors import InvalidJourney
from lojal.journeys.schemas import (
    ControlRead,
    ControlWrite,
    JourneyFigures,
    JourneyRead,
    JourneyRunRead,
    PolicyBody,
    PolicyRead,
    PolicyWrite,
)
from lojal.members import service as members
from lojal.web.deps import API_PREFIX, Admin, AdminWrite, MemberIdPath, NowDep, SessionDep
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["journeys"])
JourneyIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The journey's id")]
ChannelPath = Annotated[Literal["email", "sms", "push", "inbox"], Path(description="The channel")]


@router.post("/journeys", response_model=JourneyRead, status_code=201)
async def create_journey(body: JourneyDefinition, write: AdminWrite) -> Response:
    """Save a journey, switched off: switch it on with ``POST /journeys/{id}/enable``."""

    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(queries.journey_read(service.add(session, definition=body, now=now)), 201)

    return await write(work)


@router.get("/journeys", response_model=list[JourneyRead])
def list_journeys(session: SessionDep, _: Admin) -> list[JourneyRead]:
    return [queries.journey_read(j) for j in queries.list_journeys(session)]


@router.get("/journeys/{journey_id}", response_model=JourneyRead)
def get_journey(journey_id: JourneyIdPath, session: SessionDep, _: Admin) -> JourneyRead:
    return queries.journey_read(queries.get(session, journey_id))


@router.put("/journeys/{journey_id}", response_model=JourneyRead)
async def replace_journey(
    journey_id: JourneyIdPath, body: JourneyDefinition, write: AdminWrite
) -> Response:
    """Change a journey's definition (its code stays); runs under way go on with the new
    steps."""

    def work(session: Session, now: datetime) -> Reply:
        found = queries.get(session, journey_id)
        if found.code != body.code:
            raise InvalidJourney(
                f"code: the journey's code is {found.code!r}; it does not change", field="code"
            )
        return Reply.of(
            queries.journey_read(service.replace(session, definition=body, now=now)), 200
        )

    return await write(work)


@router.post("/journeys/{journey_id}/enable", response_model=JourneyRead)
async def enable_journey(journey_id: JourneyIdPath, write: AdminWrite) -> Response:
    """Switch the journey on: from now, its trigger enters members."""

    def work(session: Session, now: datetime) -> Reply:
        found = service.set_enabled(session, journey=journey_id, enabled=True, now=now)
        return Reply.of(queries.journey_read(found), 200)

    return await write(work)


@router.post("/journeys/{journey_id}/disable", response_model=JourneyRead)
async def disable_journey(journey_id: JourneyIdPath, write: AdminWrite) -> Response:
    """Switch the journey off: nobody new enters; runs under way finish their steps."""

    def work(session: Session, now: datetime) -> Reply:
        found = service.set_enabled(session, journey=journey_id, enabled=False, now=now)
        return Reply.of(queries.journey_read(found), 200)

    return await write(work)


@router.get("/journeys/{journey_id}/figures", response_model=JourneyFigures)
def journey_figures(
    journey_id: JourneyIdPath,
    session: SessionDep,
    now: NowDep,
    _: Admin,
    confidence: Annotated[
        float, Query(ge=0.5, le=0.999, description="The intervals' confidence level")
    ] = DEFAULT_CONFIDENCE,
) -> JourneyFigures:
    """Entered, sent, delivered, opened, clicked, converted and revenue (``revenue_minor`` in
    minor units, ``revenue`` in major units of ``currency``), for the treated members and the
    held-out ones, with the lift of conversion, purchases and revenue and their confidence
    intervals (``lift``: None until both groups have a member)."""
    return queries.figures(
        session, queries.get(session, journey_id), now=now, confidence=confidence
    )


@router.get("/journeys/{journey_id}/runs", response_model=list[JourneyRunRead])
def journey_runs(
    journey_id: JourneyIdPath,
    session: SessionDep,
    _: Admin,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="The last run id seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[JourneyRunRead]:
    """The journey's runs, by id, a page at a time, each with its state and history."""
    journey = queries.get(session, journey_id)
    return [
        queries.run_read(r, journey.code)
        for r in queries.runs_page(session, journey.id, after=after, limit=limit)
    ]


@router.get("/members/{member_id}/journey-runs", response_model=list[JourneyRunRead])
def member_runs(member_id: MemberIdPath, session: SessionDep, _: Admin) -> list[JourneyRunRead]:
    """The journeys a member has taken and is taking, newest first."""
    member = members.get(session, member_id)
    codes = {j.id: j.code for j in queries.list_journeys(session)}
    return [
        queries.run_read(r, codes[r.journey_id]) for r in queries.runs_of_member(session, member.id)
    ]


@router.get("/journey-policies", response_model=list[PolicyRead])
def list_policies(session: SessionDep, _: Admin) -> list[PolicyRead]:
    return [queries.policy_read(p) for p in queries.policies(session)]


@router.put("/journey-policies/{channel}", response_model=PolicyRead)
async def set_policy(channel: ChannelPath, body: PolicyBody, write: AdminWrite) -> Response:
    """Set the channel's frequency cap (marketing messages per member per days) and quiet
    hours (club time); fields left out are none."""
    data = PolicyWrite.model_validate({"channel": channel, **body.model_dump()})

    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(queries.policy_read(service.set_policy(session, data=data, now=now)), 200)

    return await write(work)


@router.get("/journey-control", response_model=ControlRead)
def get_control(session: SessionDep, now: NowDep, _: Admin) -> ControlRead:
    """The club's global control group: the share of the members who get no marketing
    message from any journey, so that what the journeys do together can be measured."""
    return queries.control_read(session, now=now)


@router.put("/journey-control", response_model=ControlRead)
async def set_control(body: ControlWrite, write: AdminWrite) -> Response:
    """Set the global control group's percent (0 to 10 of the active members, and at least
    1,000 members, or 0) or draw it anew (``drawn_on``); a new percent is a new draw, and the
    group is drawn at most once a calendar month. A refusal names the field."""

    def work(session: Session, now: datetime) -> Reply:
        settings = service.set_control(session, data=body, now=now)
        return Reply.of(queries.control_of(settings, queries.active_members(session)), 200)

    return await write(work)
