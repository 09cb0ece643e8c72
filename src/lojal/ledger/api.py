from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query

from lojal.db.types import MAX_ID
from lojal.ledger import queries
from lojal.ledger import service as ledger
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
from lojal.web.deps import Admin, Channel, MemberIdPath, NowDep, ProgramDep, SessionDep

router = APIRouter(tags=["points"])


def _points(session: SessionDep, member_id: MemberIdPath, point_name: str) -> PointsRead:
    balance = ledger.balance(session, member_id)
    lots = queries.open_lots_by_expiry(session, member_id)
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
                available_at=lot.available_at,
                expires_at=lot.expires_at,
            )
            for lot in lots
        ],
    )


@router.get("/members/{member_id}/points", response_model=PointsRead)
def get_points(
    member_id: MemberIdPath, session: SessionDep, program: ProgramDep, _: Channel
) -> PointsRead:
    member = members.resolve(session, members.get(session, member_id))
    return _points(session, member.id, program.point_name)


@router.get("/members/{member_id}/ledger", response_model=LedgerPage)
def get_ledger(
    member_id: MemberIdPath,
    session: SessionDep,
    _: Channel,
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


def _key(
    kind: str, member_id: MemberIdPath, reference: str | None, idempotency_key: str | None
) -> str:
    if reference:
        return f"{kind}:{member_id}:ref:{reference}"
    if idempotency_key:
        return f"{kind}:{member_id}:key:{idempotency_key}"
    return f"{kind}:{member_id}:{uuid.uuid4()}"


@router.post("/members/{member_id}/points/spend", response_model=PointsRead)
def spend_points(
    member_id: MemberIdPath,
    body: SpendRequest,
    session: SessionDep,
    now: NowDep,
    program: ProgramDep,
    _: Channel,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> PointsRead:
    member = members.get_active(session, member_id)
    ledger.spend(
        session,
        member_id=member.id,
        points=body.points,
        key=_key("spend", member.id, body.reference, idempotency_key),
        now=now,
        reason=body.reason,
        reference=body.reference,
    )
    return _points(session, member.id, program.point_name)


@router.post("/members/{member_id}/points/adjust", response_model=PointsRead)
def adjust_points(
    member_id: MemberIdPath,
    body: AdjustRequest,
    session: SessionDep,
    now: NowDep,
    program: ProgramDep,
    principal: Admin,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> PointsRead:
    member = members.get_active(session, member_id)
    ledger.adjust(
        session,
        member_id=member.id,
        points=body.points,
        reason=body.reason,
        key=_key("adjust", member.id, body.reference, idempotency_key),
        now=now,
        config=program,
        actor=principal.name,
    )
    return _points(session, member.id, program.point_name)
