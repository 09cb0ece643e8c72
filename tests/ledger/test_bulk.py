"""``ledger.bulk.earn_many``: many earn entries in one go, row for row what ``earn`` writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.errors import Invalid
from lojal.ledger import queries as ledger_queries
from lojal.ledger import service as ledger
from lojal.ledger.bulk import Grant, earn_many
from lojal.ledger.errors import LedgerMismatch
from lojal.ledger.models import JournalEntry, PointLot, Posting
from lojal.program.schemas import ProgramConfig
from tests.factories import make_member


def entry_rows(session: Session, entry_id: int) -> dict[str, object]:
    entry = session.get(JournalEntry, entry_id)
    assert entry is not None
    lot = session.scalar(select(PointLot).where(PointLot.entry_id == entry_id))
    assert lot is not None
    postings = sorted(
        (p.account, p.amount, p.lot_id == lot.id)
        for p in session.scalars(select(Posting).where(Posting.entry_id == entry_id))
    )
    return {
        "entry": (
            entry.kind,
            entry.points,
            entry.effective_at,
            entry.recorded_at,
            entry.explanation,
            entry.detail,
        ),
        "lot": (
            lot.points,
            lot.remaining,
            lot.state,
            lot.earned_at,
            lot.available_at,
            lot.expires_at,
            lot.source,
        ),
        "postings": postings,
    }


def test_earn_many_writes_what_earn_writes(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    one, many = make_member(session, clock), make_member(session, clock)
    now = clock.now()
    recent, old = now - timedelta(days=2), now - timedelta(days=40)
    ids = {}
    for earned_at, label in ((recent, "recent"), (old, "old")):
        ids[("one", label)] = ledger.earn(
            session,
            member_id=one.id,
            points=75,
            key=f"one:{label}",
            earned_at=earned_at,
            now=now,
            config=program,
            source="challenge:1",
            explanation="+75 points: challenge 'x' completed",
            detail={"challenge": "x", "attempt": 1},
        ).id
    got = earn_many(
        session,
        [
            Grant(
                many.id,
                75,
                f"many:{label}",
                earned_at,
                "challenge:1",
                "+75 points: challenge 'x' completed",
                {"challenge": "x", "attempt": 1},
            )
            for earned_at, label in ((recent, "recent"), (old, "old"))
        ],
        now=now,
        config=program,
    )
    for label in ("recent", "old"):
        assert entry_rows(session, got[f"many:{label}"]) == entry_rows(session, ids[("one", label)])
    # the recent points are pending (14 pending days), the old ones available
    a, b = ledger_queries.balance(session, one.id), ledger_queries.balance(session, many.id)
    assert (b.pending, b.available, b.lifetime_earned) == (a.pending, a.available, 150)
    assert (b.pending, b.available) == (75, 75)
    assert ledger_queries.verify(session) == []


def test_a_key_is_earned_once(session: Session, clock: FixedClock, program: ProgramConfig) -> None:
    member = make_member(session, clock)
    now = clock.now()
    first = ledger.earn(
        session,
        member_id=member.id,
        points=10,
        key="reward:1",
        earned_at=now,
        now=now,
        config=program,
        source="s",
        explanation="e",
    )
    grants = [
        Grant(member.id, 10, "reward:1", now, "s", "e"),  # already in the journal
        Grant(member.id, 20, "reward:2", now, "s", "e"),
        Grant(member.id, 20, "reward:2", now, "s", "e"),  # twice in one call
    ]
    got = earn_many(session, grants, now=now, config=program)
    assert got["reward:1"] == first.id
    assert ledger_queries.balance(session, member.id).pending == 30
    again = earn_many(session, grants, now=now, config=program)
    assert again == got
    assert ledger_queries.balance(session, member.id).pending == 30
    count = (
        select(func.count()).select_from(JournalEntry).where(JournalEntry.member_id == member.id)
    )
    assert session.scalar(count) == 2
    assert ledger_queries.verify(session) == []


def test_bad_grants_write_nothing(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    member = make_member(session, clock)
    now = clock.now()
    with pytest.raises(Invalid):
        earn_many(
            session,
            [Grant(member.id, 5, "ok", now, "s", "e"), Grant(member.id, 0, "zero", now, "s", "e")],
            now=now,
            config=program,
        )
    with pytest.raises(LedgerMismatch):
        earn_many(
            session,
            [Grant(member.id, 5, "ok", now, "s", "e"), Grant(10**9, 5, "nobody", now, "s", "e")],
            now=now,
            config=program,
        )
    assert session.scalar(select(func.count()).select_from(JournalEntry)) == 0
    assert ledger_queries.balance(session, member.id).pending == 0
    assert ledger_queries.verify(session) == []
