"""Builders for the challenge tests: a challenge as the marketer writes it, and what a member
has of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.badges import service as badges
from lojal.badges.schemas import BadgeCreate
from lojal.challenges import service
from lojal.challenges.models import Challenge, ChallengeCompletion
from lojal.challenges.schemas import ChallengeDefinition, MemberChallengeRead
from lojal.ledger.models import JournalEntry
from tests.factories import unique


def definition(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": unique("challenge"),
        "name": "Three purchases",
        "goal": {"kind": "count", "target": 3},
        "reward": {"points": 100},
    }
    data.update(kw)
    return data


def define(session: Session, now: datetime, *, activate: bool = True, **kw: Any) -> Challenge:
    row = service.create(
        session, definition=ChallengeDefinition.model_validate(definition(**kw)), now=now
    )
    if activate:
        row = service.activate(session, code=row.code, now=now)
    return row


def make_badge(session: Session, now: datetime, code: str | None = None, **kw: Any) -> str:
    code = code or unique("badge")
    badges.create(
        session,
        data=BadgeCreate.model_validate({"code": code, "name": code.title(), **kw}),
        now=now,
    )
    return code


def standing(session: Session, member_id: int, code: str, now: datetime) -> MemberChallengeRead:
    found = [
        c
        for c in service.active_for_member(session, member_id=member_id, now=now)
        if c.code == code
    ]
    assert len(found) == 1, f"{code} is not among the member's challenges"
    return found[0]


def challenge_entries(session: Session, member_id: int) -> list[JournalEntry]:
    return list(
        session.scalars(
            select(JournalEntry)
            .where(JournalEntry.member_id == member_id, JournalEntry.key.like("challenge:%"))
            .order_by(JournalEntry.id)
        )
    )


def completions(session: Session, member_id: int, challenge_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ChallengeCompletion)
            .where(
                ChallengeCompletion.member_id == member_id,
                ChallengeCompletion.challenge_id == challenge_id,
            )
        )
        or 0
    )
