"""The rewards catalogue on a real database: each kind of reward, what a redemption spends and
gives, and every reason a redemption is refused (with nothing spent)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.coupons import queries as coupon_queries
from lojal.coupons.models import CouponCode
from lojal.jobs.service import run_due
from lojal.ledger import queries as ledger_queries
from lojal.ledger.errors import InsufficientPoints
from lojal.ledger.models import JournalEntry, PointLot, Posting
from lojal.program.schemas import ProgramConfig
from lojal.rewards import queries, service
from lojal.rewards.errors import (
    InvalidPointsAmount,
    InvalidReward,
    NotEligible,
    OutOfStock,
    PartnerPoolEmpty,
    ReferenceReused,
    RewardLimitReached,
    RewardUnavailable,
)
from lojal.rewards.schemas import RewardCreate, RewardUpdate
from tests.coupons.helpers import check
from tests.factories import make_member, make_purchase
from tests.rewards.helpers import grant, member_with, redeem, reward


@pytest.fixture(autouse=True)
def _fresh_catalogue() -> None:
    coupon_queries.forget_catalogue()


def available(session: Session, member_id: int) -> int:
    return ledger_queries.balance(session, member_id).available


def test_a_coupon_reward_spends_the_points_and_issues_the_members_coupon(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    prize = reward(
        session,
        clock,
        points_price=300,
        coupon={"discount_kind": "amount", "amount_minor": 5_000, "min_spend_minor": 20_000},
        coupon_valid_days=30,
    )
    anna = member_with(session, clock, program, 500)
    redemption = redeem(session, clock, prize, anna, channel="store")
    assert (redemption.points, redemption.channel) == (300, "store")
    assert available(session, anna.id) == 200
    code = session.get(CouponCode, redemption.coupon_code_id)
    assert code is not None
    assert code.member_id == anna.id
    assert code.expires_at == clock.now() + timedelta(days=30)
    assert check(session, clock, code.code, 25_000, member_id=anna.id).discount_minor == 5_000
    assert check(session, clock, code.code, 19_000, member_id=anna.id).reason == (
        "MinimumSpendNotMet"
    )
    assert check(session, clock, code.code, 25_000).reason == "MemberRequired"
    assert ledger_queries.verify(session) == []


def test_points_are_spent_oldest_lot_first(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    anna = member_with(session, clock, program, 80)
    clock.advance(timedelta(days=3))
    grant(session, clock, program, anna.id, 200)
    redemption = redeem(session, clock, reward(session, clock, points_price=100), anna)
    lots = session.scalars(
        select(PointLot).where(PointLot.member_id == anna.id).order_by(PointLot.earned_at)
    ).all()
    assert [(lot.points, lot.remaining) for lot in lots] == [(80, 0), (200, 180)]
    spent = session.scalars(
        select(Posting.amount).where(Posting.entry_id == redemption.entry_id, Posting.amount < 0)
    ).all()
    assert sorted(spent) == [-80, -20]


def test_a_free_product_reward_gives_one_unit_of_the_sku(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    prize = reward(session, clock, "product", product_sku="LATTE")
    anna = member_with(session, clock, program, 100)
    code = session.get(CouponCode, redeem(session, clock, prize, anna).coupon_code_id)
    assert code is not None
    lines = [{"sku": "LATTE", "quantity": 2, "amount_minor": 9_000}]
    answer = check(session, clock, code.code, member_id=anna.id, basket={"lines": lines})
    assert answer.discount_minor == 4_500
    bun = [{"sku": "BUN", "amount_minor": 3_000}]
    refused = check(session, clock, code.code, member_id=anna.id, basket={"lines": bun})
    assert refused.reason == "ProductNotInBasket"


def test_a_partner_reward_gives_imported_codes_in_order_and_refuses_cleanly_when_empty(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    fuel = reward(session, clock, "partner", points_price=100)
    with pytest.raises(PartnerPoolEmpty):
        redeem(session, clock, fuel, member_with(session, clock, program, 100))
    done = service.import_partner_codes(
        session, reward_id=fuel.id, codes=["FUEL-1", "FUEL-2", "FUEL-1", " "], now=clock.now()
    )
    assert (done.imported, done.duplicates, done.available) == (2, 2, 2)
    again = service.import_partner_codes(
        session, reward_id=fuel.id, codes=["FUEL-2", "FUEL-3"], now=clock.now()
    )
    assert (again.imported, again.duplicates, again.available) == (1, 1, 3)
    members = [member_with(session, clock, program, 100) for _ in range(4)]
    given = []
    for member in members[:3]:
        _, _, partner = queries.redemption_parts(session, redeem(session, clock, fuel, member))
        assert partner is not None
        assert partner.member_id == member.id
        given.append(partner.code)
    assert given == ["FUEL-1", "FUEL-2", "FUEL-3"]
    with pytest.raises(PartnerPoolEmpty):
        redeem(session, clock, fuel, members[3])
    assert available(session, members[3].id) == 100  # nothing spent
    with pytest.raises(InvalidReward):
        service.import_partner_codes(
            session, reward_id=reward(session, clock).id, codes=["X"], now=clock.now()
        )


def test_an_experience_in_limited_stock_runs_out(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    dinner = reward(session, clock, "experience", stock=2, points_price=1_000)
    members = [member_with(session, clock, program, 1_000) for _ in range(3)]
    for member in members[:2]:
        redemption = redeem(session, clock, dinner, member)
        assert redemption.coupon_code_id is None
    session.refresh(dinner)
    assert dinner.stock == 0
    with pytest.raises(OutOfStock):
        redeem(session, clock, dinner, members[2])
    assert available(session, members[2].id) == 1_000


def test_points_as_payment_turn_points_into_a_coupon_of_exactly_their_value(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    # point_value 0.01 SEK: one point is one öre
    pay = reward(session, clock, "points_payment", min_points=100, max_points=10_000)
    anna = member_with(session, clock, program, 5_000)
    redemption = redeem(session, clock, pay, anna, points=2_500)
    assert (redemption.points, redemption.amount_minor) == (2_500, 2_500)
    code = session.get(CouponCode, redemption.coupon_code_id)
    assert code is not None
    assert check(session, clock, code.code, 10_000, member_id=anna.id).discount_minor == 2_500
    by_amount = redeem(session, clock, pay, anna, amount_minor=1_000)
    assert (by_amount.points, by_amount.amount_minor) == (1_000, 1_000)
    with pytest.raises(InvalidPointsAmount):
        redeem(session, clock, pay, anna, points=50)  # under min_points
    with pytest.raises(InvalidPointsAmount):
        redeem(session, clock, pay, anna)  # how many?
    with pytest.raises(InsufficientPoints):
        redeem(session, clock, pay, anna, points=5_000)
    assert available(session, anna.id) == 1_500


def test_points_as_payment_never_rounds(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    config = program.model_copy(update={"point_value": "0.025"})  # 2.5 öre a point
    assert service.payment(config, points=4, amount_minor=None) == (4, 10)
    with pytest.raises(InvalidPointsAmount):
        service.payment(config, points=3, amount_minor=None)
    assert service.payment(config, points=None, amount_minor=25) == (10, 25)
    with pytest.raises(InvalidPointsAmount):
        service.payment(config, points=None, amount_minor=24)


def test_a_reward_for_some_tiers_only(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    lounge = reward(session, clock, "experience", tiers=["gold", "silver"])
    bronze = member_with(session, clock, program, 500)
    bronze.tier = "bronze"
    nobody = member_with(session, clock, program, 500)
    gold = member_with(session, clock, program, 500)
    gold.tier = "gold"
    session.flush()
    for member in (bronze, nobody):
        with pytest.raises(NotEligible):
            redeem(session, clock, lounge, member)
        assert available(session, member.id) == 500
    assert redeem(session, clock, lounge, gold).points == 100


def test_a_reward_only_inside_its_window_and_while_active(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    now = clock.now()
    spring = reward(
        session, clock, valid_from=now + timedelta(days=1), valid_until=now + timedelta(days=10)
    )
    anna = member_with(session, clock, program, 1_000)
    with pytest.raises(RewardUnavailable):
        redeem(session, clock, spring, anna)
    clock.advance(timedelta(days=1))
    redeem(session, clock, spring, anna)
    service.update_reward(
        session, reward_id=spring.id, data=RewardUpdate(active=False), now=clock.now()
    )
    with pytest.raises(RewardUnavailable):
        redeem(session, clock, spring, anna)
    service.update_reward(
        session, reward_id=spring.id, data=RewardUpdate(active=True), now=clock.now()
    )
    clock.advance(timedelta(days=9))
    with pytest.raises(RewardUnavailable):
        redeem(session, clock, spring, anna)
    assert available(session, anna.id) == 900


def test_refusals_spend_nothing_and_take_no_stock(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    dinner = reward(session, clock, "experience", stock=1, points_price=600)
    anna = member_with(session, clock, program, 599)
    with pytest.raises(InsufficientPoints):
        redeem(session, clock, dinner, anna)
    session.refresh(dinner)
    assert dinner.stock == 1
    assert available(session, anna.id) == 599


def test_a_redemption_is_done_once_per_key(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    """Points are never spent twice: the same key answers with the first redemption."""
    prize = reward(session, clock, points_price=100)
    anna = member_with(session, clock, program, 1_000)
    first, created = service.redeem(
        session, reward_id=prize.id, member_id=anna.id, key="k-1", now=clock.now()
    )
    again, created_again = service.redeem(
        session, reward_id=prize.id, member_id=anna.id, key="k-1", now=clock.now()
    )
    assert (created, created_again, again.id) == (True, False, first.id)
    assert again.coupon_code_id == first.coupon_code_id
    assert available(session, anna.id) == 900
    with pytest.raises(ReferenceReused):
        service.redeem(
            session,
            reward_id=reward(session, clock).id,
            member_id=anna.id,
            key="k-1",
            now=clock.now(),
        )


def test_a_limit_per_member(session: Session, clock: FixedClock, program: ProgramConfig) -> None:
    prize = reward(session, clock, limit_per_member=2)
    anna = member_with(session, clock, program, 1_000)
    redeem(session, clock, prize, anna)
    redeem(session, clock, prize, anna)
    with pytest.raises(RewardLimitReached):
        redeem(session, clock, prize, anna)


def test_what_a_member_can_afford_now(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    now = clock.now()
    cheap = reward(session, clock, points_price=100)
    reward(session, clock, points_price=1_000)  # too dear
    reward(session, clock, "experience", stock=0)  # sold out
    reward(session, clock, tiers=["gold"])  # not for this member's tier
    reward(session, clock, valid_from=now + timedelta(days=1))  # not yet
    reward(session, clock, "partner")  # empty pool
    once = reward(session, clock, limit_per_member=1)
    pay = reward(session, clock, "points_payment", min_points=50, max_points=200)
    anna = member_with(session, clock, program, 300)
    redeem(session, clock, once, anna)  # 200 left, and no more of `once`
    offers = service.affordable(session, member_id=anna.id, now=clock.now())
    assert [(o.reward_id, o.max_points) for o in offers] == [(cheap.id, None), (pay.id, 200)]
    broke = member_with(session, clock, program, 10)
    assert service.affordable(session, member_id=broke.id, now=clock.now()) == []


def test_points_buy_a_reward_the_second_their_pending_period_ends_and_never_after_expiry(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    """No job runs between the purchase and the redemptions: the lots' dates decide."""
    second = timedelta(seconds=1)
    pending_ends = clock.now() + timedelta(days=program.pending_days)
    prize = reward(session, clock, "product", points_price=60)
    anna = make_member(session, clock)
    make_purchase(session, clock, member_id=anna.id)  # 100 points, pending
    lot = session.scalars(select(PointLot).where(PointLot.member_id == anna.id)).one()
    assert lot.available_at == pending_ends
    assert lot.expires_at is not None
    expires = lot.expires_at

    clock.at = pending_ends - second
    assert service.affordable(session, member_id=anna.id, now=clock.now()) == []
    with pytest.raises(InsufficientPoints):
        redeem(session, clock, prize, anna)
    clock.at = pending_ends + second
    assert [
        o.reward_id for o in service.affordable(session, member_id=anna.id, now=clock.now())
    ] == [prize.id]
    redeem(session, clock, prize, anna)  # 40 left

    clock.at = expires - second
    cheap = reward(session, clock, "product", points_price=40)
    assert [
        o.reward_id for o in service.affordable(session, member_id=anna.id, now=clock.now())
    ] == [cheap.id]
    clock.at = expires + second
    assert service.affordable(session, member_id=anna.id, now=clock.now()) == []
    with pytest.raises(InsufficientPoints) as refused, session.begin_nested():
        redeem(session, clock, cheap, anna)  # in a savepoint, as over HTTP
    assert "only 0 are available" in str(refused.value)
    session.commit()

    done = run_due(session_factory, clock=clock)
    assert (done.activated, done.expired) == (0, 1)
    assert run_due(session_factory, clock=clock).expired == 0
    keys = session.scalars(select(JournalEntry.key).where(JournalEntry.member_id == anna.id))
    assert sorted(k.split(":")[0] for k in keys) == ["activate", "expire", "purchase", "reward"]
    assert ledger_queries.verify(session) == []


def test_a_reward_definition_must_fit_its_kind() -> None:
    bad: list[dict[str, Any]] = [
        {"kind": "coupon", "points_price": 1},  # what discount?
        {"kind": "coupon", "points_price": 1, "coupon": {"discount_kind": "product"}},
        {"kind": "product", "points_price": 1},  # which sku?
        {"kind": "experience"},  # what price?
        {"kind": "points_payment", "points_price": 5},
        {"kind": "points_payment", "min_points": 10, "max_points": 5},
    ]
    for data in bad:
        with pytest.raises(ValueError, match=r"."):
            RewardCreate.model_validate({"code": "x", "name": "X", **data})
