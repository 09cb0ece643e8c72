"""A shop that sends the same payment many times at once, through the real app on both
databases: one membership, one revenue record, and every answer tells the same story."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from lojal.db.session import transaction
from lojal.memberships import service as memberships
from lojal.memberships.models import Membership, RevenueRecord
from lojal.memberships.schemas import PlanCreate
from lojal.tiers.models import TierChange
from tests.conftest import START
from tests.memberships.test_plans import GOLD_PLAN
from tests.tiers.club import apply_tiers
from tests.web.test_writer import CONCURRENT, Live

PAYMENT = {"plan": "gold-annual", "amount_minor": 49_900, "currency": "SEK"}


@pytest.fixture
def live(fresh_engine: Engine) -> Iterator[Live]:
    live = Live(fresh_engine)
    with transaction(live.factory) as session:
        apply_tiers(session, START)
        memberships.create_plan(session, data=PlanCreate.model_validate(GOLD_PLAN), now=START)
    yield live
    live.app.state.writer.close()
    live.app.state.engine.dispose()


def test_the_same_payment_sent_many_times_at_once_is_recorded_once(live: Live) -> None:
    member = live.member_with_points(0)
    body = {**PAYMENT, "reference": "checkout-77"}
    answers = live.together(
        [("POST", f"/members/{member}/membership/payments", body, None)] * CONCURRENT
    )
    assert sorted(a.status_code for a in answers) == [200] * (CONCURRENT - 1) + [201]
    assert len({a.content for a in answers}) == 1
    with transaction(live.factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(RevenueRecord)) == 1
        assert session.scalar(select(func.count()).select_from(Membership)) == 1
        paid = (
            select(func.count())
            .select_from(TierChange)
            .where(TierChange.reason == "paid_membership")
        )
        assert session.scalar(paid) == 1


def test_one_payment_reference_claimed_for_two_members_at_once_goes_to_one(live: Live) -> None:
    first, second = live.member_with_points(0), live.member_with_points(0)
    body = {**PAYMENT, "reference": "checkout-88"}
    answers = live.together(
        [
            ("POST", f"/members/{member}/membership/payments", body, None)
            for member in [first, second] * (CONCURRENT // 2)
        ]
    )
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1
    winner = next(a for a in answers if a.status_code == 201).json()["payment"]["member_id"]
    for member, answer in zip([first, second] * (CONCURRENT // 2), answers, strict=True):
        if member == winner:
            assert answer.status_code in (200, 201)
        else:
            assert answer.status_code == 409
            assert answer.json()["error"] == "PaymentReferenceReused"
    with transaction(live.factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(RevenueRecord)) == 1
