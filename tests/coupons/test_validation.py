"""A till's validation as one service step, on a real database: the guard admits the caller,
the code is checked, and the service says what is left to write (a wrong code's count, the
campaigns' validation counts) — decisions that used to sit in the route."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.coupons import guard, queries, validation
from lojal.coupons.errors import TooManyAttempts
from lojal.coupons.guard import Caller, Tally
from lojal.coupons.models import CouponAttempt, CouponCampaignStats
from lojal.coupons.schemas import CouponCheck
from lojal.program.schemas import ProgramConfig
from tests.coupons.helpers import basket, campaign, codes_of

CALLER = Caller(key_id=None, address="203.0.113.9")


@pytest.fixture(autouse=True)
def _program(program: ProgramConfig) -> None:
    queries.forget_catalogue()


def _check(code: str) -> CouponCheck:
    return CouponCheck.model_validate({"code": code, "basket": basket()})


def _run(session: Session, clock: FixedClock, writes: list[validation.Write]) -> None:
    for write in writes:
        write(session, clock.now())
    session.flush()


def test_a_right_code_writes_nothing_but_its_campaigns_count_when_due(
    session: Session, clock: FixedClock
) -> None:
    c = campaign(session, clock)
    [code] = codes_of(session, clock, c)
    tally = Tally(every=3600)
    outcome = validation.check(session, check=_check(code), caller=CALLER, now=clock.now())
    assert outcome.read.valid
    assert not outcome.wrong_guess
    assert validation.writes_after(outcome, caller=CALLER, tally=tally) == []
    assert tally.pending(c.id) == 1

    tally.every = 0  # now it is due: the counts are written (and forgotten here)
    writes = validation.writes_after(outcome, caller=CALLER, tally=tally)
    assert len(writes) == 1
    _run(session, clock, writes)
    assert (
        session.scalar(
            select(CouponCampaignStats.validations).where(CouponCampaignStats.campaign_id == c.id)
        )
        == 2
    )
    assert tally.pending(c.id) == 0
    assert session.scalar(select(CouponAttempt)) is None


def test_a_wrong_code_is_counted_against_the_caller_until_it_must_wait(
    session: Session, clock: FixedClock
) -> None:
    campaign(session, clock)
    tally = Tally(every=3600)
    for _ in range(guard.ADDRESS.slow_after):
        outcome = validation.check(
            session, check=_check("NOT-A-CODE"), caller=CALLER, now=clock.now()
        )
        assert (outcome.read.valid, outcome.read.reason) == (False, "UnknownCode")
        assert outcome.wrong_guess
        assert outcome.campaign_id is None
        _run(session, clock, validation.writes_after(outcome, caller=CALLER, tally=tally))
    row = session.get(CouponAttempt, "addr:203.0.113.9")
    assert row is not None
    assert row.failures == guard.ADDRESS.slow_after
    with pytest.raises(TooManyAttempts):
        validation.check(session, check=_check("NOT-A-CODE"), caller=CALLER, now=clock.now())
    clock.advance(timedelta(minutes=16))  # the window has passed
    assert not validation.check(
        session, check=_check("NOT-A-CODE"), caller=CALLER, now=clock.now()
    ).read.valid
