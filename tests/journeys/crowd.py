"""Many members at once, written straight into the tables: a club big enough for control
groups (at least 1,000 members within 10 % of an audience)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from lojal.members.models import Consent, Member


def add_members(
    session: Session, n: int, *, now: datetime, consents: Sequence[str] = ()
) -> list[int]:
    """``n`` active members enrolled ``now``, with no email and no purchase, who granted
    ``consents``; their ids."""
    rows = [
        {
            "status": "active",
            "enrolment_channel": "store",
            "enrolled_at": now,
            "attributes": {},
            "updated_at": now,
        }
        for _ in range(n)
    ]
    ids = list(session.scalars(insert(Member).returning(Member.id), rows))
    if consents:
        session.execute(
            insert(Consent),
            [
                {
                    "member_id": member_id,
                    "channel": channel,
                    "granted": True,
                    "source": "test",
                    "recorded_at": now,
                }
                for member_id in ids
                for channel in consents
            ],
        )
    return ids
