"""``/fraud/alerts`` (admin): the alerts raised, and staff acknowledging them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from lojal.fraud import queries, service
from lojal.fraud.schemas import Acknowledge, AlertKind, AlertPage, AlertRead
from lojal.inputs import MAX_ID
from lojal.web.deps import API_PREFIX, Admin, AdminWrite, SessionDep
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["fraud"])


@router.get("/fraud/alerts", response_model=AlertPage)
def alerts(
    session: SessionDep,
    _: Admin,
    kind: AlertKind | None = None,
    member_id: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
    include_acknowledged: bool = False,
    before: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    """The alerts, newest first: the open ones, or all with ``include_acknowledged``."""
    return queries.alerts(
        session,
        open_only=not include_acknowledged,
        kind=kind,
        member_id=member_id,
        before=before,
        limit=limit,
    )


@router.post("/fraud/alerts/{alert_id}/acknowledge", response_model=AlertRead)
async def acknowledge(
    alert_id: Annotated[int, Path(gt=0, le=MAX_ID)], body: Acknowledge, write: AdminWrite
) -> Response:
    """Staff have looked at the alert; ``release`` makes the points an earn limit held
    available at their usual time. Acknowledging again changes nothing."""

    def work(session: Session, now: datetime) -> Reply:
        done = service.acknowledge(session, alert_id=alert_id, body=body, now=now)
        return Reply.of(done, 200)

    return await write(work)
