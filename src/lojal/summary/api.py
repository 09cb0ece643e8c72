from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from lojal.summary import service
from lojal.summary.schemas import MemberSummary
from lojal.web.deps import (
    API_PREFIX,
    MemberIdPath,
    ShopOrMemberWrite,
)
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["members"])

Locale = Annotated[
    str | None,
    Query(
        min_length=2,
        max_length=10,
        pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$",
        description="the language of the texts (default: the member's locale, then the club's)",
    ),
]


@router.get("/members/{member_id}/summary", response_model=MemberSummary)
async def member_summary(
    member_id: MemberIdPath, write: ShopOrMemberWrite, locale: Locale = None
) -> Response:
    """What a member sees on the app's home screen, the web portal or the till's display:
    points to spend, points on the way and expiring (with dates), tier and progress, rewards
    they can afford now, active challenges, referral link and badges — with each part also
    said as a sentence in the member's language. It runs on the write path because a member
    who joined before the club had referrals gets their referral code on first use."""

    def work(session: Session, now: datetime) -> Reply:
        found = service.summary(session, member_id=member_id, now=now, locale=locale)
        return Reply.of(found, 200)

    return await write(work)
