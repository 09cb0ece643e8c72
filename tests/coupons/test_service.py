"""Coupon rules as a till sees them, on a real database: what a code gives and why not, holds
for baskets, redemptions on orders, returns, and bulk generation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.coupons import codes, queries, redemptions, service, validation
from lojal.coupons.errors import (
    AlreadyRedeemed,
    BatchMismatch,
    CodeTaken,
    CouponUsedUp,
    MemberLimitReached,
    ReservationEnded,
)
from lojal.coupons.models import CouponCode
from lojal.coupons.schemas import CampaignUpdate, CouponCheck
from lojal.db.session import make_session_factory, transaction
from lojal.program.schemas import ProgramConfig
from tests.conftest import apply_program
from tests.coupons.helpers import campaign, check, codes_of, commit, release, reserve
from tests.factories import make_member, make_purchase, make_return


@pytest.fixture(autouse=True)
def _program(program: ProgramConfig) -> None:
    queries.forget_catalogue()


def test_a_generated_code_gives_its_discount_however_it_is_typed(
    session: Session, clock: FixedClock
) -> None:
    [code] = codes_of(session, clock, campaign(session, clock, amount_minor=5_000))
    typed = codes.display(code).lower()
    answer = check(session, clock, typed)
    assert (answer.valid, answer.reason, answer.discount_minor) == (True, None, 5_000)
    assert answer.uses_left == 1


def test_a_typo_is_refused_by_the_check_character_without_a_lookup(
    session: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    [code] = codes_of(session, clock, campaign(session, clock))
    lookups: list[str] = []
    real = queries.code_row

    def counted(s: Session, c: str) -> queries.CodeRow | None:
        lookups.append(c)
        return real(s, c)

    monkeypatch.setattr(queries, "code_row", counted)
    wrong = next(c for c in codes.ALPHABET if c != code[3])
    typo = code[:3] + wrong + code[4:]
    swapped = code[:4] + code[5] + code[4] + code[6:] if code[4] != code[5] else typo
    for bad in (typo, swapped):
        answer = check(session, clock, bad)
        assert (answer.valid, answer.reason) == (False, "MistypedCode")
    assert check(session, clock, "NOT-A-CODE-AT-ALL").reason == "UnknownCode"
    assert lookups == []
    assert check(session, clock, code).valid
    assert lookups == [code]


def test_a_code_is_valid_only_inside_its_window(session: Session, clock: FixedClock) -> None:
    now = clock.now()
    [code] = codes_of(
        session,
        clock,
        campaign(
            session, clock, valid_from=now + timedelta(days=1), valid_until=now + timedelta(days=8)
        ),
    )
    assert check(session, clock, code).reason == "NotYetValid"
    clock.advance(timedelta(days=1))
    assert check(session, clock, code).valid
    clock.advance(timedelta(days=7))
    assert check(session, clock, code).reason == "CouponExpired"


def test_minimum_spend_channel_and_store(session: Session, clock: FixedClock) -> None:
    c = campaign(session, clock, min_spend_minor=30_000, channels=["store"], stores=["S1", "S2"])
    [code] = codes_of(session, clock, c)
    assert check(session, clock, code, 29_999, store_id="S1").reason == "MinimumSpendNotMet"
    assert check(session, clock, code, 30_000, store_id="S1").valid
    assert check(session, clock, code, 30_000, store_id="S9").reason == "StoreNotAllowed"
    web = check(session, clock, code, 30_000, channel="web", store_id="S1")
    assert web.reason == "ChannelNotAllowed"


def test_a_percent_coupon_on_a_category(session: Session, clock: FixedClock) -> None:
    c = campaign(session, clock, discount_kind="percent", percent=20, categories=["coffee"])
    [code] = codes_of(session, clock, c)
    lines = [
        {"sku": "LATTE", "category": "coffee", "quantity": 2, "amount_minor": 9_000},
        {"sku": "BUN", "category": "bakery", "amount_minor": 3_000},
    ]
    body = {"lines": lines}
    answer = validation.validate(
        session,
        check=CouponCheck.model_validate({"code": code, "basket": body}),
        now=clock.now(),
    ).read
    assert answer.discount_minor == 1_800


def test_a_single_use_code_is_used_once(session: Session, clock: FixedClock) -> None:
    [code] = codes_of(session, clock, campaign(session, clock))
    first = commit(session, clock, code, "order-1")
    assert first.state == "redeemed"
    assert commit(session, clock, code, "order-1").id == first.id  # the same order again
    with pytest.raises(CouponUsedUp):
        commit(session, clock, code, "order-2")
    assert check(session, clock, code).reason == "CouponUsedUp"


def test_a_code_for_n_uses_and_an_unlimited_one(session: Session, clock: FixedClock) -> None:
    [three] = codes_of(session, clock, campaign(session, clock, uses_per_code=3))
    for i in range(3):
        commit(session, clock, three, f"o3-{i}")
    with pytest.raises(CouponUsedUp):
        commit(session, clock, three, "o3-x")
    [unlimited] = codes_of(session, clock, campaign(session, clock, uses_per_code=None))
    for i in range(10):
        commit(session, clock, unlimited, f"ou-{i}")
    assert check(session, clock, unlimited).valid


def test_a_public_code_once_per_member(session: Session, clock: FixedClock) -> None:
    campaign(
        session,
        clock,
        public_code="summer-26",
        hashtag="summer26",
        uses_per_code=None,
        uses_per_member=1,
    )
    anna, bo = make_member(session, clock), make_member(session, clock)
    assert check(session, clock, "SUMMER26").reason == "MemberRequired"
    answer = check(session, clock, "Summer26", member_id=anna.id)
    assert answer.valid
    assert answer.hashtag == "#summer26"
    commit(session, clock, "SUMMER26", "o-anna", member_id=anna.id)
    assert check(session, clock, "summer26", member_id=anna.id).reason == "MemberLimitReached"
    with pytest.raises(MemberLimitReached):
        commit(session, clock, "SUMMER26", "o-anna-2", member_id=anna.id)
    assert commit(session, clock, "SUMMER26", "o-bo", member_id=bo.id).state == "redeemed"
    with pytest.raises(CodeTaken):
        campaign(session, clock, public_code="SUMMER26")


def test_a_code_bound_to_a_member_is_theirs_alone(session: Session, clock: FixedClock) -> None:
    c = campaign(session, clock)
    anna, bo = make_member(session, clock), make_member(session, clock)
    code = service.issue_code(
        session, campaign_id=c.id, reference="gift:anna", member_id=anna.id, now=clock.now()
    )
    again = service.issue_code(
        session, campaign_id=c.id, reference="gift:anna", member_id=anna.id, now=clock.now()
    )
    assert again.id == code.id
    assert check(session, clock, code.code).reason == "MemberRequired"
    assert check(session, clock, code.code, member_id=bo.id).reason == "BoundToAnotherMember"
    card = anna.identity("card")
    assert check(session, clock, code.code, card_number=card).valid


def test_a_reservation_holds_the_use_until_released_or_expired(
    session: Session, clock: FixedClock
) -> None:
    [code] = codes_of(session, clock, campaign(session, clock))
    held = reserve(session, clock, code, "basket-1", ttl_seconds=600)
    assert held.state == "reserved"
    assert reserve(session, clock, code, "basket-1", 25_000).id == held.id  # the same basket
    assert check(session, clock, code).reason == "CouponUsedUp"
    with pytest.raises(CouponUsedUp):
        reserve(session, clock, code, "basket-2")
    assert release(session, clock, code, "basket-1").state == "released"
    second = reserve(session, clock, code, "basket-2", ttl_seconds=60)
    clock.advance(timedelta(seconds=61))  # basket 2 is abandoned
    assert check(session, clock, code).valid
    third = reserve(session, clock, code, "basket-3")
    session.refresh(second)
    assert second.state == "expired"
    with pytest.raises(ReservationEnded):
        commit(session, clock, code, "order-2", reference="basket-2")
    done = commit(session, clock, code, "order-3", reference="basket-3")
    assert (done.id, done.state, done.order_id) == (third.id, "redeemed", "order-3")
    with pytest.raises(AlreadyRedeemed):
        commit(session, clock, code, "order-4", reference="basket-3")
    row = session.scalar(select(CouponCode).where(CouponCode.code == code))
    assert row is not None
    session.refresh(row)
    assert (row.uses, row.held) == (1, 0)


def test_the_job_frees_abandoned_baskets(session: Session, clock: FixedClock) -> None:
    batch = codes_of(session, clock, campaign(session, clock), 3)
    for i, code in enumerate(batch):
        reserve(session, clock, code, f"b-{i}", ttl_seconds=60)
    clock.advance(timedelta(minutes=2))
    assert redemptions.free_expired(session, now=clock.now()) == 3
    assert redemptions.free_expired(session, now=clock.now()) == 0
    held = session.scalar(select(func.sum(CouponCode.held)).where(CouponCode.code.in_(batch)))
    assert held == 0


@pytest.mark.parametrize("restore", [True, False])
def test_a_returned_order_restores_the_coupon_when_the_campaign_says_so(
    session: Session, clock: FixedClock, restore: bool
) -> None:
    member = make_member(session, clock)
    [code] = codes_of(session, clock, campaign(session, clock, restore_on_return=restore))
    order = make_purchase(
        session,
        clock,
        member_id=member.id,
        lines=[
            {"sku": "A", "quantity": 2, "unit_price_minor": 10_000},
            {"sku": "B", "quantity": 1, "unit_price_minor": 5_000},
        ],
    ).row.order_id
    commit(session, clock, code, order, member_id=member.id)
    make_return(session, clock, order, lines=[{"line_no": 1, "quantity": 2}])
    assert check(session, clock, code, member_id=member.id).reason == "CouponUsedUp"
    make_return(session, clock, order)  # the rest: now the whole order is returned
    answer = check(session, clock, code, member_id=member.id)
    assert answer.valid is restore
    report = queries.report(session, queries.get_campaign(session, answer.campaign_id or 0))
    assert report["restored"] == (1 if restore else 0)


def test_bulk_generation_is_resumable_and_idempotent(session: Session, clock: FixedClock) -> None:
    c = campaign(session, clock, code_prefix="SP", code_length=9)
    for expected in (400, 800, 1000, 1000):
        batch = service.generate(
            session, campaign_id=c.id, key="spring", count=1000, now=clock.now(), chunk=400
        )
        assert batch.generated == expected
    made = list(session.scalars(select(CouponCode.code).where(CouponCode.batch_id == batch.id)))
    assert len(made) == len(set(made)) == 1000
    assert all(code.startswith("SP") and codes.is_well_formed(code) for code in made)
    with pytest.raises(BatchMismatch):
        service.generate(session, campaign_id=c.id, key="spring", count=5, now=clock.now())


def test_codes_that_exist_already_are_skipped_and_made_up_for(
    session: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generator that repeats itself still ends with the number of new codes asked for."""
    c = campaign(session, clock, code_length=9)
    existing = codes_of(session, clock, c, 50)
    real = codes.generate
    calls = {"n": 0}

    def repeating(count: int, **kw: object) -> list[str]:
        calls["n"] += 1
        fresh = real(count, **kw)  # type: ignore[arg-type]
        return (existing + fresh)[:count] if calls["n"] == 1 else fresh

    monkeypatch.setattr(codes, "generate", repeating)
    service.write_codes(session, campaign=c, batch_id=None, count=80, now=clock.now())
    total = session.scalar(
        select(func.count()).select_from(CouponCode).where(CouponCode.campaign_id == c.id)
    )
    assert total == 50 + 80
    assert calls["n"] == 2


def test_the_report_per_campaign(session: Session, clock: FixedClock) -> None:
    c = campaign(session, clock, public_code="WINTER", uses_per_code=None, hashtag="#vinter")
    member = make_member(session, clock)
    orders = [make_purchase(session, clock, member_id=member.id).row for _ in range(2)]
    for order in orders:
        commit(session, clock, "WINTER", order.order_id, member_id=member.id)
    reserve(session, clock, "WINTER", "open-basket")
    figures = queries.report(session, c, pending=7)
    assert figures["codes_issued"] == 1
    assert figures["redemptions"] == 2
    assert figures["reservations_open"] == 1
    assert figures["discount_minor"] == 10_000
    assert figures["orders_recorded"] == 2
    assert figures["orders_revenue_minor"] == sum(o.total_minor for o in orders)
    assert figures["validations"] == 7
    assert figures["hashtag"] == "#vinter"


def test_a_paused_campaign_refuses_its_codes(session: Session, clock: FixedClock) -> None:
    c = campaign(session, clock)
    [code] = codes_of(session, clock, c)
    service.update_campaign(
        session, campaign_id=c.id, data=CampaignUpdate(active=False), now=clock.now()
    )
    assert check(session, clock, code).reason == "CampaignInactive"


def test_a_rolled_back_campaign_never_passes_for_the_current_catalogue(
    fresh_engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A campaign made in a transaction that rolls back leaves its revision number free, and
    the next campaign — made by another process, which cannot tell this one to forget —
    takes it. This process must not answer from a catalogue it read inside the rolled-back
    transaction."""
    factory = make_session_factory(fresh_engine)
    with factory() as session:
        apply_program(session, clock.now())
        session.commit()
    with factory() as session:
        [gone] = codes_of(session, clock, campaign(session, clock, code_prefix="GAMMA"))
        assert check(session, clock, gone).valid
        session.rollback()
    with monkeypatch.context() as other_process:
        other_process.setattr(queries, "forget_catalogue", lambda: None)
        with transaction(factory) as session:
            [code] = codes_of(session, clock, campaign(session, clock, code_prefix="NYTT"))
    with transaction(factory) as session:
        assert check(session, clock, code).valid
        assert check(session, clock, gone).reason == "UnknownCode"
