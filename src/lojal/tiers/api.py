from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.inputs import MAX_ID
from lojal.tiers import queries, service
from lojal.tiers.models import TierChange
from lojal.tiers.schemas import (
    ManualTierChange,
    TierChangeRead,
    TierHistoryPage,
    TierProgress,
    TiersRead,
)
from lojal.web.deps import (
    API_PREFIX,
    AdminWrite,
    Catalogue,
    ChannelOrMember,
    MemberIdPath,
    NowDep,
    SessionDep,
    ShopOrMember,
)
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["tiers"])


@router.get("/tiers", response_model=TiersRead)
def tiers(session: SessionDep, _: Catalogue) -> TiersRead:
    """The club's tiers, lowest first, with their thresholds, multipliers and perks."""
    return service.definitions(session)


@router.get("/members/{member_id}/tier", response_model=TierProgress)
def progress(
    member_id: MemberIdPath, session: SessionDep, now: NowDep, _: ChannelOrMember
) -> TierProgress:
    """The member's tier, what the next tier still needs in the current window, and what
    keeps the current tier at its next review."""
    return queries.progress(session, member_id=member_id, now=now)


def _change(row: TierChange) -> TierChangeRead:
    return TierChangeRead(
        id=row.id,
        from_tier=row.from_tier,
        to_tier=row.to_tier,
        reason=row.reason,
        effective_at=row.effective_at,
        recorded_at=row.recorded_at,
        detail=row.detail,
    )


@router.get("/members/{member_id}/tier/history", response_model=TierHistoryPage)
def history(
    member_id: MemberIdPath,
    session: SessionDep,
    _: ShopOrMember,
    before: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TierHistoryPage:
    """Every change of the member's tier, newest first."""
    rows = queries.history(session, member_id=member_id, before=before, limit=limit)
    return TierHistoryPage(
        changes=[_change(row) for row in rows],
        next_before=rows[-1].id if len(rows) == limit else None,
    )


@router.post("/members/{member_id}/tier", response_model=TierProgress)
async def set_tier(member_id: MemberIdPath, body: ManualTierChange, write: AdminWrite) -> Response:
    """A staff decision: put the member in a tier (null: none) for a new tier period, or
    until ``until``; the tier is reviewed as usual after that."""

    def work(session: Session, now: datetime) -> Reply:
        caused = service.set_tier(
            session, member_id=member_id, change=body, now=now, actor=write.principal.name
        )
        reactions.after_events(session, caused, now)
        return Reply.of(queries.progress(session, member_id=member_id, now=now), 200)

    return await write(work)
