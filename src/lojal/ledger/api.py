from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from lojal.inputs import MAX_ID
from lojal.ledger import queries
from lojal.ledger import service as ledger
from lojal.ledger.keys import request_key
from lojal.ledger.schemas import (
    AdjustRequest,
    EntryRead,
    LedgerPage,
    LotRead,
    PointsRead,
    PostingRead,
    SpendRequest,
)
from lojal.members import service as members
from lojal.program import service as program_service
from lojal.web.deps import (
    API_PREFIX,
    AdminWrite,
    ChannelOrMember,
    ChannelWrite,
    MemberIdPath,
    NowDep,
    ProgramDep,
    SessionDep,
    ShopOrMember,
)
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["points"])


def _points(session: Session, member_id: int, point_name: str, now: datetime) -> PointsRead:
    balance = queries.balance_now(session, member_id, now=now, with_lots=True)
    return PointsRead(
        member_id=member_id,
        point_name=point_name,
        available=balance.available,
        pending=balance.pending,
        lifetime_earned=balance.lifetime_earned,
        lifetime_spent=balance.lifetime_spent,
        lifetime_expired=balance.lifetime_expired,
        lots=[
            LotRead(
                points=lot.remaining,
                state=lot.state,
                earned_at=lot.earned_at,
                available_at=lot.available_from,
                expires_at=lot.expires_at,
            )
            for lot in balance.lots
        ],
    )


@router.get("/members/{member_id}/points", response_model=PointsRead)
def get_points(
    member_id: MemberIdPath,
    session: SessionDep,
    program: ProgramDep,
    now: NowDep,
    _: ChannelOrMember,
) -> PointsRead:
    member = members.resolve(session, members.get(session, member_id))
    return _points(session, member.id, program.point_name, now)


@router.get("/members/{member_id}/ledger", response_model=LedgerPage)
def get_ledger(
    member_id: MemberIdPath,
    session: SessionDep,
    _: ShopOrMember,
    before: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> LedgerPage:
    member = members.resolve(session, members.get(session, member_id))
    entries, postings = queries.entries_page(session, member.id, before=before, limit=limit)
    return LedgerPage(
        entries=[
            EntryRead(
                id=e.id,
                kind=e.kind,
                key=e.key,
                effective_at=e.effective_at,
                recorded_at=e.recorded_at,
                points=e.points,
                explanation=e.explanation,
                detail=e.detail,
                postings=[
                    PostingRead(account=p.account, amount=p.amount, lot_id=p.lot_id)
                    for p in postings[e.id]
                    if p.member_id in (member.id,) or not p.account.startswith("member_")
                ],
            )
            for e in entries
        ],
        next_before=entries[-1].id if len(entries) == limit else None,
    )


@router.post("/members/{member_id}/points/spend", response_model=PointsRead)
async def spend_points(
    member_id: MemberIdPath, body: SpendRequest, write: ChannelWrite
) -> Response:
    key = request_key(
        member_id,
        reference=body.reference,
        idempotency_key=write.claim.key if write.claim else None,
        kind="spend",
    )

    def work(session: Session, now: datetime) -> Reply:
        member = members.get_active(session, member_id)
        config = program_service.current(session)
        ledger.spend(
            session,
            member_id=member.id,
            points=body.points,
            key=key,
            now=now,
            reason=body.reason,
            reference=body.reference,
            config=config,
        )
        return Reply.of(_points(session, member.id, config.point_name, now), 200)

    return await write(work)


@router.post("/members/{member_id}/points/adjust", response_model=PointsRead)
async def adjust_points(
    member_id: MemberIdPath, body: AdjustRequest, write: AdminWrite
) -> Response:
    key = request_key(
        member_id,
        reference=body.reference,
        idempotency_key=write.claim.key if write.claim else None,
        kind="adjust",
    )

    def work(session: Session, now: datetime) -> Reply:
        member = members.get_active(session, member_id)
        config = program_service.current(session)
        ledger.adjust(
            session,
            member_id=member.id,
            points=body.points,
            reason=body.reason,
            key=key,
            now=now,
            config=config,
            actor=write.principal.name,
        )
        return Reply.of(_points(session, member.id, config.point_name, now), 200)

    return await write(work)
