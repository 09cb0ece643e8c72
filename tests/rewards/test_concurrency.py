"""Redemption races with real commits, on SQLite and PostgreSQL: 50 members redeem the last unit
of a reward at once and exactly one gets it; one member's 50 simultaneous redemptions never
spend their points twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from lojal.coupons import queries as coupon_queries
from lojal.coupons.models import CouponCode
from lojal.db.session import transaction
from lojal.ledger import queries as ledger_queries
from lojal.ledger.errors import InsufficientPoints
from lojal.ledger.models import JournalEntry
from lojal.members.models import Member
from lojal.rewards.errors import OutOfStock
from lojal.rewards.models import Reward, RewardRedemption
from tests.concurrency import run_together
from tests.coupons.live import Live
from tests.coupons.test_concurrency import THREADS
from tests.rewards.helpers import member_with, redeem, reward


@pytest.fixture
def live(fresh_engine: Engine) -> Iterator[Live]:
    coupon_queries.forget_catalogue()
    live = Live(fresh_engine)
    yield live
    live.close()


def _members(live: Live, n: int, points: int) -> list[int]:
    with transaction(live.factory) as session:
        return [member_with(session, live.clock, live.config, points).id for _ in range(n)]


def _reward(live: Live, kind: str = "experience", **kw: object) -> int:
    with transaction(live.factory) as session:
        return reward(session, live.clock, kind, **kw).id


def _counts(live: Live, reward_id: int) -> tuple[int | None, int, int]:
    """(stock left, redemptions, spend entries)"""
    with transaction(live.factory, read_only=True) as session:
        row = session.get(Reward, reward_id)
        assert row is not None
        redemptions = session.scalar(
            select(func.count())
            .select_from(RewardRedemption)
            .where(RewardRedemption.reward_id == reward_id)
        )
        spends = session.scalar(
            select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == "spend")
        )
        assert ledger_queries.verify(session) == []
        return row.stock, int(redemptions or 0), int(spends or 0)


def test_fifty_members_redeem_the_last_unit_over_http_and_one_wins(
    backend: str, live: Live
) -> None:
    last = _reward(live, stock=1, points_price=500)
    members = _members(live, THREADS, 500)
    answers = live.together(
        [
            (f"/members/{m}/rewards/{last}/redeem", {"reference": f"r-{m}", "channel": "app"})
            for m in members
        ],
        key="shop",
    )
    assert sorted(a.status_code for a in answers) == [201] + [409] * (THREADS - 1)
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {"OutOfStock"}
    assert _counts(live, last) == (0, 1, 1)
    with transaction(live.factory, read_only=True) as session:
        left = sorted(ledger_queries.balance(session, m).available for m in members)
    assert left == [0] + [500] * (THREADS - 1)  # only the winner paid


def test_fifty_threads_redeem_the_last_coupon_reward_and_one_wins(backend: str, live: Live) -> None:
    last = _reward(live, "coupon", stock=1, points_price=100)
    members = _members(live, THREADS, 100)

    def attempt(i: int) -> int:
        with transaction(live.factory) as session:
            row = session.get(Reward, last)
            assert row is not None
            holder = session.get(Member, members[i])
            assert holder is not None
            return redeem(session, live.clock, row, holder).id

    results = run_together(THREADS, attempt)
    assert [r for r in results if not isinstance(r, (int, OutOfStock))] == []
    assert sum(isinstance(r, int) for r in results) == 1
    assert _counts(live, last) == (0, 1, 1)
    with transaction(live.factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(CouponCode)) == 1


def test_one_members_simultaneous_redemptions_never_spend_twice(backend: str, live: Live) -> None:
    """The same reference 50 times at once is one redemption; then 50 different ones, with
    points left for one, are one redemption and 49 refusals."""
    prize = _reward(live, "coupon", points_price=300)
    [anna] = _members(live, 1, 600)
    path = f"/members/{anna}/rewards/{prize}/redeem"
    same = live.together([(path, {"reference": "one-tap"})] * THREADS, key="shop")
    assert sorted(a.status_code for a in same) == [200] * (THREADS - 1) + [201]
    assert len({a.json()["id"] for a in same}) == 1
    assert _counts(live, prize)[1:] == (1, 1)
    different = live.together(
        [(path, {"reference": f"tap-{i}"}) for i in range(THREADS)], key="shop"
    )
    assert sorted(a.status_code for a in different) == [201] + [409] * (THREADS - 1)
    assert {a.json()["error"] for a in different if a.status_code == 409} == {
        InsufficientPoints.__name__
    }
    assert _counts(live, prize)[1:] == (2, 2)
    with transaction(live.factory, read_only=True) as session:
        assert ledger_queries.balance(session, anna).available == 0
