"""Rewards: both are rewarded when the referee's first qualifying purchase has passed the
return window; a returned order claws back a referral reward that has not matured; caps per
period; and the same enrolment, purchase, return or job twice rewards once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.ledger import queries as ledger_queries
from lojal.ledger.models import JournalEntry
from lojal.referrals.models import Referral
from tests.conftest import Api
from tests.factories import line, unique
from tests.referrals.conftest import (
    WINDOW,
    buy,
    code_of,
    configure,
    enrol,
    give_back,
    jobs,
    ledger,
    page,
    points,
    referred,
)


def _pair(api: Api, **referee: Any) -> tuple[int, int]:
    """An advocate and a friend who enrolled with the advocate's code."""
    anna = enrol(api, first_name="Anna")
    bo = enrol(api, code=code_of(api, anna["id"]), first_name="Bo", **referee)
    return anna["id"], bo["id"]


def _referral_entries(session: Session) -> list[JournalEntry]:
    session.expire_all()
    return list(
        session.scalars(
            select(JournalEntry)
            .where(JournalEntry.key.like("referral:%"))
            .order_by(JournalEntry.id)
        )
    )


def _verified(session: Session) -> None:
    session.expire_all()
    assert ledger_queries.verify(session) == []


def test_both_are_rewarded_once_the_first_qualifying_purchase_has_passed_the_return_window(
    club: Api, session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    anna, bo = _pair(club)
    order = buy(club, bo, 25_000)
    referral = referred(club, bo)
    assert referral["status"] == "qualified"
    assert referral["qualifying_order_id"] == order["order_id"]
    assert referral["matures_at"].startswith("2026-03-16T09:00")
    # the rewards show as pending points, not yet spendable
    assert (points(club, anna)["pending"], points(club, anna)["available"]) == (500, 0)
    assert points(club, bo)["pending"] == 250 + 250
    [advocate_entry] = [e for e in ledger(club, anna) if e["key"].startswith("referral:")]
    assert advocate_entry["key"] == f"referral:{referral['id']}:advocate"
    assert "Bo joined through your referral" in advocate_entry["explanation"]
    assert order["order_id"] in advocate_entry["explanation"]
    [referee_entry] = [e for e in ledger(club, bo) if e["key"].startswith("referral:")]
    assert "welcome bonus" in referee_entry["explanation"]
    assert page(club, anna)["points_pending"] == 500

    clock.advance(WINDOW - timedelta(minutes=1))
    assert jobs(session_factory, clock).referrals_rewarded == 0
    assert referred(club, bo)["status"] == "qualified"
    assert points(club, anna)["available"] == 0

    clock.advance(timedelta(minutes=1))
    assert jobs(session_factory, clock).referrals_rewarded == 1
    assert referred(club, bo)["status"] == "rewarded"
    assert (points(club, anna)["pending"], points(club, anna)["available"]) == (0, 500)
    assert points(club, bo)["available"] == 500
    view = page(club, anna)
    assert (view["counts"]["rewarded"], view["points_earned"], view["points_pending"]) == (
        1,
        500,
        0,
    )
    _verified(session)


def test_a_returned_order_claws_back_a_referral_reward_that_has_not_matured(
    club: Api, session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    anna, bo = _pair(club)
    order = buy(club, bo, 25_000)
    assert points(club, anna)["pending"] == 500
    clock.advance(timedelta(days=5))
    give_back(club, order["order_id"])
    referral = referred(club, bo)
    assert (referral["status"], referral["reason"]) == ("voided", "returned")
    assert points(club, anna)["pending"] == 0
    assert points(club, bo)["pending"] == 0  # the purchase's points and the welcome bonus
    clawback = next(e for e in ledger(club, anna) if e["kind"] == "clawback")
    assert clawback["key"] == f"referral:{referral['id']}:advocate:void"
    assert "returned before the referral reward matured" in clawback["explanation"]
    clock.advance(WINDOW)
    assert jobs(session_factory, clock).referrals_rewarded == 0
    assert points(club, anna)["available"] == 0
    assert referred(club, bo)["status"] == "voided"
    _verified(session)


def test_a_return_after_the_window_keeps_the_matured_reward(
    club: Api, session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    anna, bo = _pair(club)
    order = buy(club, bo, 25_000)
    clock.advance(WINDOW + timedelta(hours=1))
    give_back(club, order["order_id"])  # before the job ran: the window had passed anyway
    assert referred(club, bo)["status"] == "qualified"
    assert jobs(session_factory, clock).referrals_rewarded == 1
    assert points(club, anna)["available"] == 500
    _verified(session)


def test_a_return_dated_inside_the_window_voids_even_a_rewarded_referral(
    club: Api, session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    """What counts is when the return happened, not when it reached lojal."""
    anna, bo = _pair(club)
    order = buy(club, bo, 25_000)
    clock.advance(WINDOW + timedelta(days=1))
    jobs(session_factory, clock)
    assert referred(club, bo)["status"] == "rewarded"
    late = (clock.now() - timedelta(days=3)).isoformat()
    give_back(club, order["order_id"], occurred_at=late)
    assert referred(club, bo)["status"] == "voided"
    assert points(club, anna)["available"] == 0
    _verified(session)


def test_a_partial_return_voids_only_when_the_order_falls_below_the_minimum_spend(
    club: Api,
) -> None:
    _, bo = _pair(club)
    order = buy(
        club, bo, lines=[line("A", unit_price_minor=25_000), line("B", unit_price_minor=5_000)]
    )
    give_back(club, order["order_id"], lines=[{"line_no": 2}])
    assert referred(club, bo)["status"] == "qualified"  # 250 SEK left: still qualifies
    _, eva = _pair(club)
    order = buy(
        club, eva, lines=[line("A", unit_price_minor=15_000), line("B", unit_price_minor=15_000)]
    )
    give_back(club, order["order_id"], lines=[{"line_no": 1}])
    assert referred(club, eva)["status"] == "voided"  # 150 SEK left


def test_only_a_purchase_of_the_minimum_spend_qualifies(club: Api) -> None:
    anna, bo = _pair(club)
    buy(club, bo, 19_999)
    assert referred(club, bo)["status"] == "pending"
    assert points(club, anna)["pending"] == 0
    order = buy(club, bo, 20_000)
    assert referred(club, bo)["qualifying_order_id"] == order["order_id"]
    buy(club, bo, 90_000)
    assert referred(club, bo)["qualifying_order_id"] == order["order_id"]  # the first one
    assert points(club, anna)["pending"] == 500


def test_a_purchase_dated_before_the_referral_does_not_qualify_it(
    club: Api, clock: FixedClock
) -> None:
    _, bo = _pair(club)
    buy(club, bo, 30_000, occurred_at=(clock.now() - timedelta(hours=2)).isoformat())
    assert referred(club, bo)["status"] == "pending"


def test_rewards_may_stay_unseen_until_the_window_has_passed(
    club: Api, session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    configure(club, rewards_pending=False)
    anna, bo = _pair(club)
    buy(club, bo, 25_000)
    assert referred(club, bo)["status"] == "qualified"
    assert points(club, anna)["pending"] == 0
    assert _referral_entries(session) == []
    _, eva = _pair(club)
    returned = buy(club, eva, 25_000)
    give_back(club, returned["order_id"])
    assert referred(club, eva)["status"] == "voided"  # nothing to claw back
    clock.advance(WINDOW)
    assert jobs(session_factory, clock).referrals_rewarded == 1
    assert (points(club, anna)["pending"], points(club, anna)["available"]) == (0, 500)
    assert points(club, bo)["available"] == 250 + 250
    assert [e.key.rsplit(":", 1)[1] for e in _referral_entries(session)] == [
        "advocate",
        "referee",
    ]
    _verified(session)


def test_a_purchase_whose_window_has_already_passed_is_rewarded_at_once(club: Api) -> None:
    anna = enrol(club, enrolled_at="2026-01-20T09:00:00Z")
    bo = enrol(club, code=code_of(club, anna["id"]), enrolled_at="2026-02-05T09:00:00Z")
    # history (an admin key's: a shop may date a purchase only a few days back)
    buy(club, bo["id"], 25_000, scope="admin", occurred_at="2026-02-10T12:00:00Z")
    referral = referred(club, bo["id"])
    assert referral["status"] == "rewarded"
    assert points(club, anna["id"])["available"] == 500


def test_a_referral_beyond_the_advocates_cap_is_capped_and_not_rewarded(
    club: Api, clock: FixedClock
) -> None:
    configure(club, caps={"month": 2, "year": 3})
    anna = enrol(club)
    code = code_of(club, anna["id"])
    march = [enrol(club, code=code)["id"] for _ in range(3)]
    for friend in march:
        buy(club, friend)
    statuses = [(referred(club, f)["status"], referred(club, f)["reason"]) for f in march]
    assert statuses == [("qualified", None), ("qualified", None), ("capped", "cap_month")]
    assert points(club, anna["id"])["pending"] == 2 * 500
    assert points(club, march[2])["pending"] == 250  # the purchase's own points only
    clock.advance(timedelta(days=31))  # April: a new month, the same year
    april = [enrol(club, code=code)["id"] for _ in range(2)]
    for friend in april:
        buy(club, friend)
    assert [referred(club, f)["status"] for f in april] == ["qualified", "capped"]
    assert referred(club, april[1])["reason"] == "cap_year"
    assert page(club, anna["id"])["counts"]["capped"] == 2


def test_voided_referrals_free_their_place_under_the_cap(club: Api) -> None:
    configure(club, caps={"month": 1})
    anna = enrol(club)
    code = code_of(club, anna["id"])
    first, second = enrol(club, code=code)["id"], enrol(club, code=code)["id"]
    order = buy(club, first)
    give_back(club, order["order_id"])
    buy(club, second)
    assert referred(club, second)["status"] == "qualified"


# ------------------------------------------------------------------ twice is once


def test_the_same_enrolment_twice_links_once(club: Api, session: Session) -> None:
    anna = enrol(club)
    body = {"email": "bo@example.se", "referral_code": code_of(club, anna["id"])}
    first = club.post("/members", body, scope="web", idempotency_key="enrol-bo")
    again = club.post("/members", body, scope="web", idempotency_key="enrol-bo")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    without_key = club.post("/members", body, scope="web")
    assert without_key.status_code == 409  # the email is Bo's now
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Referral)) == 1


def test_the_same_purchase_return_and_job_twice_reward_once(
    club: Api, session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    anna, bo = _pair(club)
    order = buy(club, bo, 25_000)
    replay = buy(club, bo, 25_000, order_id=order["order_id"])
    assert replay["id"] == order["id"]
    _, eva = _pair(club)
    other = buy(club, eva, 25_000)
    ret = {"return_id": unique("return"), "order_id": other["order_id"]}
    assert club.post("/returns", ret).status_code == 201
    assert club.post("/returns", ret).status_code == 200
    assert len(_referral_entries(session)) == 2 + 2 + 2  # Bo's, Eva's and Eva's clawbacks
    clock.advance(WINDOW)
    assert jobs(session_factory, clock).referrals_rewarded == 1
    assert jobs(session_factory, clock).referrals_rewarded == 0
    assert len(_referral_entries(session)) == 6
    assert points(club, anna)["available"] == 500
    _verified(session)
