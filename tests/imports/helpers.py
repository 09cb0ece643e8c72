"""Shared helpers for the import tests: a club on a fresh database, CSV files, counts."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal import enrolment
from lojal.activities.models import Purchase, PurchaseLine
from lojal.db.session import make_session_factory, transaction
from lojal.ledger.models import JournalEntry, PointBalance, PointLot, Posting
from lojal.members.models import Member
from lojal.members.schemas import MemberCreate
from tests.conftest import START, apply_program

CLUB: dict[str, Any] = {
    "expiry": {"months": 12, "round_to_month_end": True},
    "rules": [
        {"id": "base", "kind": "base", "points": 1},
        {
            "id": "coffee",
            "kind": "multiplier",
            "factor": 2,
            "when": {"field": "line.category", "op": "eq", "value": "coffee"},
        },
        {
            "id": "weekend",
            "kind": "multiplier",
            "factor": "1.5",
            "when": {"field": "purchase.weekday", "op": "in", "value": ["sat", "sun"]},
        },
        {
            "id": "big",
            "kind": "bonus",
            "points": 50,
            "when": {"field": "purchase.total_minor", "op": "gte", "value": 30000},
            "cap": {"points": 100, "period": "month"},
        },
        {"id": "welcome", "kind": "first_purchase", "points": 100},
    ],
}


def club(
    engine: Engine, now: datetime = START, members_: int = 0, **overrides: Any
) -> sessionmaker[Session]:
    """Apply the test club's programme and enrol ``members_`` members
    (``m{i}@example.se``, i from 1)."""
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        apply_program(session, now, **{**CLUB, **overrides})
        for i in range(1, members_ + 1):
            enrolment.enrol(
                session, data=MemberCreate(email=f"m{i}@example.se", channel="store"), now=now
            )
    return factory


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def counts(factory: sessionmaker[Session]) -> dict[str, int]:
    with transaction(factory, read_only=True) as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (
                ("purchases", Purchase),
                ("lines", PurchaseLine),
                ("members", Member),
                ("entries", JournalEntry),
                ("lots", PointLot),
                ("postings", Posting),
            )
        } | {
            "points": int(
                session.scalar(
                    select(
                        func.coalesce(func.sum(PointBalance.pending + PointBalance.available), 0)
                    )
                )
                or 0
            )
        }
