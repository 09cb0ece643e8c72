"""Exactly one redemption wins: 50 tills redeem the same single-use code at once (threads
released together, and concurrent HTTP requests through the real app), on SQLite and
PostgreSQL, with real commits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.coupons import queries
from lojal.coupons.errors import CouponUsedUp
from lojal.coupons.models import CouponCode, CouponRedemption
from lojal.db.session import make_session_factory, transaction
from tests.concurrency import run_together
from tests.conftest import START, apply_program
from tests.coupons.helpers import campaign, codes_of, commit, reserve
from tests.coupons.live import Live

THREADS = 50


@pytest.fixture
def club(fresh_engine: Engine) -> tuple[sessionmaker[Session], FixedClock]:
    queries.forget_catalogue()
    factory = make_session_factory(fresh_engine)
    clock = FixedClock(START)
    with transaction(factory) as session:
        apply_program(session, clock.now())
    return factory, clock


def _state(factory: sessionmaker[Session], code: str) -> tuple[int, int, int]:
    with transaction(factory, read_only=True) as session:
        row = session.scalar(select(CouponCode).where(CouponCode.code == code))
        assert row is not None
        redeemed = session.scalar(
            select(func.count())
            .select_from(CouponRedemption)
            .where(CouponRedemption.code_id == row.id, CouponRedemption.state == "redeemed")
        )
        return row.uses, row.held, int(redeemed or 0)


def test_fifty_tills_redeem_a_single_use_code_and_one_wins(
    backend: str, club: tuple[sessionmaker[Session], FixedClock]
) -> None:
    factory, clock = club
    with transaction(factory) as session:
        [code] = codes_of(session, clock, campaign(session, clock))

    def redeem(i: int) -> int:
        with transaction(factory) as session:
            return commit(session, clock, code, f"order-{i}").id

    results = run_together(THREADS, redeem)
    won = [r for r in results if isinstance(r, int)]
    lost = [r for r in results if isinstance(r, CouponUsedUp)]
    assert [r for r in results if not isinstance(r, (int, CouponUsedUp))] == []
    assert (len(won), len(lost)) == (1, THREADS - 1)
    assert _state(factory, code) == (1, 0, 1)


def test_fifty_baskets_reserve_the_last_three_uses_and_three_get_them(
    backend: str, club: tuple[sessionmaker[Session], FixedClock]
) -> None:
    factory, clock = club
    with transaction(factory) as session:
        [code] = codes_of(session, clock, campaign(session, clock, uses_per_code=3))

    def hold(i: int) -> int:
        with transaction(factory) as session:
            return reserve(session, clock, code, f"basket-{i}").id

    results = run_together(THREADS, hold)
    assert sum(isinstance(r, int) for r in results) == 3
    assert sum(isinstance(r, CouponUsedUp) for r in results) == THREADS - 3
    assert _state(factory, code) == (0, 3, 0)


@pytest.fixture
def live(fresh_engine: Engine) -> Iterator[Live]:
    queries.forget_catalogue()
    live = Live(fresh_engine)
    yield live
    live.close()


def test_fifty_concurrent_http_redemptions_of_a_single_use_code(backend: str, live: Live) -> None:
    with transaction(live.factory) as session:
        [code] = codes_of(session, live.clock, campaign(session, live.clock))
    answers = live.together(
        [
            (
                "/coupons/commit",
                {"code": code, "order_id": f"o-{i}", "basket": {"total_minor": 9_900}},
            )
            for i in range(THREADS)
        ]
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * (THREADS - 1)
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {"CouponUsedUp"}
    assert _state(live.factory, code) == (1, 0, 1)


def test_fifty_retries_of_one_order_all_get_its_one_redemption(backend: str, live: Live) -> None:
    with transaction(live.factory) as session:
        [code] = codes_of(session, live.clock, campaign(session, live.clock))
    body = {"code": code, "order_id": "o-retried", "basket": {"total_minor": 9_900}}
    answers = live.together([("/coupons/commit", body)] * THREADS)
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["id"] for a in answers}) == 1
    assert _state(live.factory, code) == (1, 0, 1)
