"""``ledger.rows``: the one builder of the ledger's rows refuses an entry that does not balance,
whichever way the entry comes in (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lojal.errors import Invalid
from lojal.ledger.entries import (
    MEMBER_AVAILABLE,
    MEMBER_PENDING,
    PROGRAM_ISSUED,
    PROGRAM_REDEEMED,
    Leg,
    UnbalancedEntry,
)
from lojal.ledger.errors import LedgerMismatch
from lojal.ledger.rows import NewLot, Rows

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _earn(rows: Rows, points: int) -> None:
    rows.earn(
        entry_id=0,
        lot_id=0,
        member_id=1,
        key="purchase:1",
        points=points,
        earned_at=AT,
        recorded_at=AT,
        available_at=AT,
        expires_at=None,
        pending=True,
        source="purchase:A-1",
        explanation="+10 points",
        detail="{}",
    )


def test_the_builder_refuses_an_unbalanced_entry_and_adds_nothing() -> None:
    rows = Rows()
    with pytest.raises(UnbalancedEntry, match="sum to 5"):
        rows.entry(
            entry_id=0,
            member_id=1,
            kind="spend",
            key="spend:1",
            legs=[Leg(MEMBER_AVAILABLE, -10, 7), Leg(PROGRAM_REDEEMED, 15)],
            effective_at=AT,
            recorded_at=AT,
        )
    with pytest.raises(UnbalancedEntry, match="unknown account"):
        rows.entry(
            entry_id=0,
            member_id=1,
            kind="earn",
            key="earn:1",
            legs=[Leg("member_wallet", 10), Leg(PROGRAM_ISSUED, -10)],
            effective_at=AT,
            recorded_at=AT,
            new_lots=[(0, NewLot(AT, AT, None, "test"))],
        )
    with pytest.raises(UnbalancedEntry, match="zero"):
        _earn(rows, 0)
    assert (rows.entries, rows.lots, rows.postings, rows.balances) == ([], [], [], {})


def test_the_builder_checks_the_earn_rows_it_writes_and_they_balance() -> None:
    rows = Rows()
    _earn(rows, 10)
    _earn(rows, 5)
    with pytest.raises(Invalid):
        _earn(rows, -3)
    by_entry: dict[int, int] = {}
    for entry_id, _, _, amount, _, _ in rows.postings:
        by_entry[entry_id] = by_entry.get(entry_id, 0) + amount
    assert set(by_entry.values()) == {0}
    assert rows.balances == {1: [15, 0, 15, 0, 0]}
    assert [lot[3] for lot in rows.lots] == [10, 5]


def test_a_member_leg_needs_a_lot() -> None:
    with pytest.raises(LedgerMismatch, match="without a lot"):
        Rows().entry(
            entry_id=0,
            member_id=1,
            kind="earn",
            key="earn:1",
            legs=[Leg(MEMBER_PENDING, 10), Leg(PROGRAM_ISSUED, -10)],
            effective_at=AT,
            recorded_at=AT,
        )
