"""Referrals qualify on every purchase path: the CSV import (set-based, many referrals in one
batch, caps counted within the batch, a re-run changes nothing) and concurrent API-style
transactions, where an advocate's cap still holds exactly on both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal import enrolment
from lojal.activities import service as activities
from lojal.activities.schemas import PurchaseCreate
from lojal.db.session import make_session_factory, transaction
from lojal.imports import purchases
from lojal.ledger import queries as ledger_queries
from lojal.ledger.models import JournalEntry
from lojal.members.schemas import MemberCreate
from lojal.referrals import service as referrals
from lojal.referrals.models import Referral
from tests.concurrency import run_together
from tests.conftest import START, apply_program
from tests.imports.helpers import write_csv
from tests.referrals.conftest import REFERRALS

HEADER = ["order_id", "email", "occurred_at", "sku", "quantity", "unit_price_minor"]


def _club(
    engine: Engine, friends: int, **referral_settings: Any
) -> tuple[sessionmaker[Session], int, list[int]]:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        apply_program(session, START, referrals={**REFERRALS, **referral_settings})
        anna = enrolment.enrol(session, data=MemberCreate(email="anna@example.se"), now=START)
        code = referrals.member_referral(session, member_id=anna.id, now=START).code
        ids = [
            enrolment.enrol(
                session,
                data=MemberCreate(email=f"friend{i}@example.se", referral_code=code),
                now=START,
            ).id
            for i in range(friends)
        ]
    return factory, anna.id, ids


def _statuses(factory: sessionmaker[Session]) -> dict[str, int]:
    with transaction(factory, read_only=True) as session:
        return {
            status: int(n)
            for status, n in session.execute(
                select(Referral.status, func.count()).group_by(Referral.status)
            )
        }


def _state(factory: sessionmaker[Session], member_id: int) -> tuple[int, int, list[str]]:
    with transaction(factory, read_only=True) as session:
        balance = ledger_queries.balance(session, member_id)
        entries = int(session.scalar(select(func.count()).select_from(JournalEntry)) or 0)
        return balance.pending, entries, ledger_queries.verify(session)


def test_an_import_of_purchases_qualifies_referrals_in_one_batch(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    factory, anna, friends = _club(fresh_engine, 30, caps={"year": 25})
    at = (START + timedelta(hours=1)).isoformat()
    rows: list[list[object]] = []
    for i in range(len(friends)):
        rows.append([f"small-{i}", f"friend{i}@example.se", at, "A", 1, 5_000])  # too small
        rows.append([f"big-{i}", f"friend{i}@example.se", at, "A", 2, 15_000])
    file = write_csv(tmp_path / "purchases.csv", HEADER, rows)
    summary = purchases.run(factory, file, now=START + timedelta(hours=2))
    assert (summary.written, summary.rejected) == (60, 0)
    assert _statuses(factory) == {"qualified": 25, "capped": 5}
    pending, entries, problems = _state(factory, anna)
    assert pending == 25 * 500
    assert problems == []
    with transaction(factory, read_only=True) as session:
        orders = set(
            session.scalars(
                select(Referral.qualifying_order_id).where(Referral.status == "qualified")
            )
        )
    assert all(order is not None and order.startswith("big-") for order in orders)
    again = purchases.run(factory, file, now=START + timedelta(hours=3))
    assert again.written == 0
    assert _state(factory, anna) == (pending, entries, [])
    assert _statuses(factory) == {"qualified": 25, "capped": 5}


THREADS = 8


def test_concurrent_first_purchases_never_exceed_the_advocates_cap(fresh_engine: Engine) -> None:
    factory, anna, friends = _club(fresh_engine, THREADS, caps={"month": 2})

    def first_purchase(i: int) -> None:
        with transaction(factory) as session:
            activities.record_purchase(
                session,
                data=PurchaseCreate.model_validate(
                    {
                        "order_id": f"o-{i}",
                        "member_id": friends[i],
                        "lines": [{"sku": "A", "quantity": 1, "unit_price_minor": 25_000}],
                    }
                ),
                now=START,
            )

    errors = [r for r in run_together(THREADS, first_purchase) if isinstance(r, Exception)]
    assert errors == []
    assert _statuses(factory) == {"qualified": 2, "capped": THREADS - 2}
    pending, _, problems = _state(factory, anna)
    assert pending == 2 * 500
    assert problems == []
