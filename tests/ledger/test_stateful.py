"""A model-based test of the ledger over the real services and a real database: hypothesis
drives purchases, returns, spends, adjustments, the passing of time (by days, and to one
second either side of a lot's boundary) and the jobs for one member, and a simple model of the
member's lots predicts their pending and available points *as of now*: the lots' dates decide,
whether or not the jobs have run. After every step the database's balance as of now must
agree with the model, every entry must balance, and no balance may be negative; after the
jobs the stored balance agrees too."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.activities import returns
from lojal.activities import service as activities
from lojal.activities.schemas import PurchaseCreate, ReturnCreate
from lojal.clock import FixedClock
from lojal.enrolment import enrol
from lojal.ledger import entries, queries
from lojal.ledger import queries as ledger_queries
from lojal.ledger import service as ledger
from lojal.ledger.errors import InsufficientPoints
from lojal.ledger.models import JournalEntry, PointBalance, Posting
from lojal.members.schemas import MemberCreate
from lojal.program.schemas import ProgramConfig
from tests.conftest import START, apply_program

_ids = itertools.count(1)
SETTINGS = settings(
    max_examples=75,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@dataclass
class ModelLot:
    seq: int
    earned_at: datetime
    available_at: datetime
    expires_at: datetime | None
    remaining: int
    state: str  # pending / available


@dataclass
class ModelOrder:
    order_id: str
    quantity: int
    points: int
    returned: int
    lot: ModelLot | None


def take(lots: list[ModelLot], points: int) -> int:
    """Take up to ``points`` from ``lots`` in order; return what could not be taken."""
    for lot in lots:
        n = min(lot.remaining, points)
        lot.remaining -= n
        points -= n
    return points


@pytest.fixture
def config(session: Session) -> ProgramConfig:
    return apply_program(session, START)


def test_the_ledger_agrees_with_a_model_of_the_lots(
    backend: str, session: Session, config: ProgramConfig
) -> None:
    class LedgerMachine(RuleBasedStateMachine):
        orders = Bundle("orders")

        def __init__(self) -> None:
            super().__init__()
            # each example runs in a savepoint that teardown() rolls back: a clean slate
            self.savepoint = session.begin_nested()
            self.clock = FixedClock(START)
            member = enrol(
                session,
                data=MemberCreate(email=f"state{next(_ids)}@example.se"),
                now=self.clock.now(),
            )
            session.flush()
            self.member_id = member.id
            self.lots: list[ModelLot] = []
            self.seq = itertools.count()

        def teardown(self) -> None:
            if self.savepoint.is_active:
                self.savepoint.rollback()
            # SQLite reuses the rolled-back ids: forget every object of this example
            session.expunge_all()

        # -------------------------------------------------------------- model helpers

        def open_lots(self) -> list[ModelLot]:
            return [lot for lot in self.lots if lot.remaining > 0]

        def model_available(self) -> int:
            return sum(lot.remaining for lot in self.open_lots() if lot.state == "available")

        def model_pending(self) -> int:
            return sum(lot.remaining for lot in self.open_lots() if lot.state == "pending")

        def new_lot(self, points: int, *, pending_days: int) -> ModelLot:
            now = self.clock.now()
            lot = ModelLot(
                next(self.seq),
                now,
                now + timedelta(days=pending_days),
                entries.expiry_for(
                    now,
                    months=config.expiry.months,
                    round_to_month_end=config.expiry.round_to_month_end,
                    timezone=config.timezone,
                ),
                points,
                "pending" if pending_days > 0 else "available",
            )
            self.lots.append(lot)
            return lot

        def model_spend(self, points: int) -> None:
            oldest_first = sorted(
                (lot for lot in self.open_lots() if lot.state == "available"),
                key=lambda lot: (lot.earned_at, lot.seq),
            )
            assert take(oldest_first, points) == 0

        def balance(self) -> PointBalance:
            """The stored balance (what the entries written so far sum to)."""
            row = ledger_queries.balance(session, self.member_id)
            session.refresh(row)
            return row

        def balance_now(self) -> tuple[int, int]:
            now = queries.balance_now(session, self.member_id, now=self.clock.now())
            return now.pending, now.available

        def move_to(self, at: datetime) -> None:
            """Time passes; the model's lots are what their dates make them, at once."""
            self.clock.at = at
            for lot in self.open_lots():
                if lot.state == "pending" and lot.available_at <= at:
                    lot.state = "available"
                if lot.expires_at is not None and lot.expires_at <= at:
                    lot.remaining = 0

        # -------------------------------------------------------------- rules

        @rule(target=orders, quantity=st.integers(1, 5), unit_price=st.integers(0, 40_000))
        def purchase(self, quantity: int, unit_price: int) -> ModelOrder:
            order_id = f"state-order-{next(_ids)}"
            data = PurchaseCreate(
                member_id=self.member_id,
                order_id=order_id,
                lines=[{"sku": "SKU", "quantity": quantity, "unit_price_minor": unit_price}],
            )
            recorded = activities.record_purchase(session, data=data, now=self.clock.now())
            points = quantity * unit_price // 100  # 1 point per SEK
            assert recorded.row.points == points
            lot = self.new_lot(points, pending_days=config.pending_days) if points else None
            return ModelOrder(order_id, quantity, points, 0, lot)

        @rule(order=orders, data=st.data())
        def return_part(self, order: ModelOrder, data: st.DataObject) -> None:
            left = order.quantity - order.returned
            if left == 0:
                return
            quantity = data.draw(st.integers(1, left), label="returned")
            self.record_return(order, quantity, whole=False)

        @rule(order=consumes(orders))
        def return_the_rest(self, order: ModelOrder) -> None:
            if order.returned < order.quantity:
                self.record_return(order, order.quantity - order.returned, whole=True)

        def record_return(self, order: ModelOrder, quantity: int, *, whole: bool) -> None:
            before, after = order.returned, order.returned + quantity
            q = order.quantity
            points = order.points * after // q - order.points * before // q
            data = ReturnCreate(
                return_id=f"state-return-{next(_ids)}",
                order_id=order.order_id,
                lines=None if whole else [{"line_no": 1, "quantity": quantity}],
            )
            row = returns.record_return(session, data=data, now=self.clock.now()).row
            order.returned = after
            if points == 0:
                assert row.points_clawed_back == 0
                return
            # the model's clawback: own lot, then pending newest first, then available oldest
            own = [order.lot] if order.lot is not None and order.lot.remaining > 0 else []
            others = [lot for lot in self.open_lots() if lot is not order.lot]
            pending = sorted(
                (lot for lot in others if lot.state == "pending"),
                key=lambda lot: (lot.earned_at, lot.seq),
                reverse=True,
            )
            available = sorted(
                (lot for lot in others if lot.state == "available"),
                key=lambda lot: (lot.earned_at, lot.seq),
            )
            short = take(own + pending + available, points)
            assert row.points_clawed_back == points - short
            assert row.points_unrecovered == short

        @rule(points=st.integers(1, 600))
        def spend(self, points: int) -> None:
            expected = self.balance_now()
            if points > self.model_available():
                with pytest.raises(InsufficientPoints):
                    ledger.spend(
                        session,
                        member_id=self.member_id,
                        points=points,
                        key=f"state-spend-{next(_ids)}",
                        now=self.clock.now(),
                    )
                assert self.balance_now() == expected
                return
            ledger.spend(
                session,
                member_id=self.member_id,
                points=points,
                key=f"state-spend-{next(_ids)}",
                now=self.clock.now(),
            )
            self.model_spend(points)

        @rule(points=st.integers(-300, 300).filter(bool))
        def adjust(self, points: int) -> None:
            def call() -> None:
                ledger.adjust(
                    session,
                    member_id=self.member_id,
                    points=points,
                    reason="stateful test",
                    key=f"state-adjust-{next(_ids)}",
                    now=self.clock.now(),
                    config=config,
                )

            if points > 0:
                call()
                self.new_lot(points, pending_days=0)
            elif -points > self.model_available():
                with pytest.raises(InsufficientPoints):
                    call()
            else:
                call()
                self.model_spend(-points)

        @rule(days=st.sampled_from([1, 7, 13, 14, 15, 30, 90, 200, 365]))
        def time_passes(self, days: int) -> None:
            self.move_to(self.clock.now() + timedelta(days=days))

        @precondition(lambda self: self.open_lots())
        @rule(data=st.data(), offset=st.sampled_from([-1, 0, 1]))
        def time_passes_to_a_boundary(self, data: st.DataObject, offset: int) -> None:
            now = self.clock.now()
            boundaries = sorted(
                {lot.available_at for lot in self.open_lots() if lot.state == "pending"}
                | {lot.expires_at for lot in self.open_lots() if lot.expires_at is not None}
            )
            at = data.draw(st.sampled_from(boundaries), label="boundary") + timedelta(
                seconds=offset
            )
            if at > now:
                self.move_to(at)

        @rule()
        def jobs_run_twice_harmlessly(self) -> None:
            now = self.clock.now()
            ledger.activate_due(session, now=now)
            ledger.expire_due(session, now=now)
            after = self.balance()
            assert (after.pending, after.available) == (
                self.model_pending(),
                self.model_available(),
            )
            written = session.scalar(select(func.count()).select_from(JournalEntry))
            ledger.activate_due(session, now=now)
            ledger.expire_due(session, now=now)
            assert session.scalar(select(func.count()).select_from(JournalEntry)) == written

        # -------------------------------------------------------------- invariants

        @invariant()
        def ledger_verifies(self) -> None:
            assert ledger_queries.verify(session) == []

        @invariant()
        def balances_match_the_model_and_are_never_negative(self) -> None:
            balance = self.balance()
            assert balance.pending >= 0
            assert balance.available >= 0
            expected = (self.model_pending(), self.model_available())
            assert self.balance_now() == expected
            shown = queries.balance_now(
                session, self.member_id, now=self.clock.now(), with_lots=True
            )
            assert (shown.pending, shown.available) == expected
            assert sorted(lot.remaining for lot in shown.lots) == sorted(
                lot.remaining for lot in self.open_lots()
            )
            negative = session.scalar(
                select(func.count())
                .select_from(PointBalance)
                .where((PointBalance.pending < 0) | (PointBalance.available < 0))
            )
            assert negative == 0

        @invariant()
        def all_accounts_sum_to_zero(self) -> None:
            total = session.scalar(select(func.coalesce(func.sum(Posting.amount), 0)))
            assert total == 0
            assert sum(ledger_queries.sums_by_account(session).values()) == 0

    run_state_machine_as_test(LedgerMachine, settings=SETTINGS)
