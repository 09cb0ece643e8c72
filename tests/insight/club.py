"""A hand-made club of ten members whose RFM scores are worked out by hand (the test says
how), with purchases written straight into the purchases table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.db.models import Base
from tests.factories import make_member, unique

AS_OF = date(2026, 3, 1)  # the clock (tests.conftest.START) is 2 March 2026

# member: (days before AS_OF of the last purchase, purchase days, revenue in öre)
HISTORY: dict[int, tuple[int, int, int]] = {
    1: (2, 8, 90_000),
    2: (5, 6, 40_000),
    3: (9, 1, 5_000),
    4: (14, 4, 70_000),
    5: (20, 2, 12_000),
    6: (30, 7, 30_000),
    7: (45, 3, 8_000),
    8: (60, 5, 55_000),
    9: (90, 2, 20_000),
    10: (120, 1, 1_000),
}


def buy(session: Session, member_id: int | None, at: datetime, total_minor: int) -> None:
    session.execute(
        insert(Base.metadata.tables["purchases"]).values(
            order_id=unique("insight"),
            member_id=member_id,
            identity_kind=None if member_id else "email",
            identity_value=None if member_id else "nobody@example.se",
            channel="store",
            occurred_at=at,
            currency="SEK",
            total_minor=total_minor,
            points=0,
            order_points=0,
            attributes={},
            recorded_at=at,
        )
    )


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)  # 12:00 in Stockholm


def make_club(session: Session, clock: FixedClock) -> dict[int, int]:
    """The ten members (their key in ``HISTORY`` → member id), each buying once a week up to
    their last day; the revenue is split evenly, the first purchase taking the rest. Member
    1's last day has two receipts (one purchase day), and a purchase after AS_OF is left out
    of every figure."""
    ids = {}
    for key, (ago, days, revenue) in HISTORY.items():
        member = make_member(session, clock)
        ids[key] = member.id
        last = AS_OF - timedelta(days=ago)
        each = revenue // days
        for n in range(days):
            day = last - timedelta(days=7 * (days - 1 - n))
            value = each if n else revenue - each * (days - 1)
            if key == 1 and n == days - 1:  # one day, two receipts
                buy(session, member.id, noon(day), value - 1_000)
                buy(session, member.id, noon(day) + timedelta(hours=3), 1_000)
            else:
                buy(session, member.id, noon(day), value)
    buy(session, ids[10], noon(AS_OF + timedelta(days=1)), 99_000)  # after the fit's day
    session.flush()
    return ids
