"""Codes, links and linking: every member has a code and a link; a new member who enrols
with a friend's code is linked to the friend; an unknown code is refused naming the field;
and a referral that the guards refuse is recorded with its reason while the enrolment
itself succeeds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.members.models import Member
from lojal.referrals import codes
from lojal.referrals.models import Referral
from tests.conftest import Api
from tests.referrals.conftest import (
    buy,
    code_of,
    configure,
    enrol,
    page,
    referred,
)


def _referrals(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(Referral)) or 0)


def test_every_member_gets_a_code_and_a_link_at_enrolment(club: Api) -> None:
    anna = enrol(club)
    view = page(club, anna["id"])
    assert codes.normalise_code(view["code"]) == view["code"]
    assert view["link"] == f"https://shop.example/join/{view['code']}"
    assert view["counts"] == {
        "pending": 0,
        "qualified": 0,
        "rewarded": 0,
        "refused": 0,
        "capped": 0,
        "voided": 0,
    }
    assert view["referred_by"] is None
    assert page(club, anna["id"])["code"] == view["code"]
    assert code_of(club, enrol(club)["id"]) != view["code"]


def test_members_enrolled_before_referrals_get_their_code_on_first_use(api: Api) -> None:
    early = enrol(api)
    r = api.get(f"/members/{early['id']}/referral", scope="web")
    assert r.status_code == 409
    assert r.json()["error"] == "ReferralsNotConfigured"
    configure(api, link_base_url="https://shop.example/?ref={code}")
    code = code_of(api, early["id"])
    assert page(api, early["id"])["link"] == f"https://shop.example/?ref={code}"
    assert code_of(api, early["id"]) == code  # issued once
    friend = enrol(api, code=code.lower())
    assert referred(api, friend["id"])["advocate_id"] == early["id"]


def test_enrolling_with_a_friends_code_links_the_two(club: Api) -> None:
    anna = enrol(club)
    code = code_of(club, anna["id"])
    bo = enrol(club, code=f"{code[:4]}-{code[4:]}", first_name="Bo")
    referral = referred(club, bo["id"])
    assert referral["advocate_id"] == anna["id"]
    assert referral["referee_id"] == bo["id"]
    assert referral["code"] == code
    assert referral["source"] == "enrolment"
    assert (referral["status"], referral["reason"]) == ("pending", None)
    assert page(club, anna["id"])["counts"]["pending"] == 1


def test_an_unknown_code_is_refused_naming_the_field_and_nobody_is_enrolled(
    club: Api, session: Session
) -> None:
    members_before = session.scalar(select(func.count()).select_from(Member))
    for code in ("ZZZZZZZZ", "not a code"):
        r = club.post("/members", {"email": "new@example.se", "referral_code": code}, scope="web")
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "UnknownReferralCode"
        assert r.json()["field"] == "referral_code"
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Member)) == members_before
    assert _referrals(session) == 0


def test_a_code_is_ignored_when_the_club_has_no_referrals(api: Api, session: Session) -> None:
    r = api.post("/members", {"email": "x@example.se", "referral_code": "ZZZZZZZZ"}, scope="web")
    assert r.status_code == 201, r.text
    assert _referrals(session) == 0


def _refused(api: Api, member_id: int) -> str:
    referral = referred(api, member_id)
    assert referral["status"] == "refused"
    reason: str = referral["reason"]
    return reason


def test_a_friend_with_the_advocates_mailbox_is_refused_but_still_enrolled(club: Api) -> None:
    anna = enrol(club, email="anna.berg@gmail.com")
    alias = enrol(club, code=code_of(club, anna["id"]), email="AnnaBerg+club@googlemail.com")
    assert _refused(club, alias["id"]) == "shared_email"
    assert club.get(f"/members/{alias['id']}", scope="web").json()["status"] == "active"
    assert page(club, anna["id"])["counts"]["refused"] == 1


def test_a_friend_at_the_advocates_address_is_refused(club: Api) -> None:
    anna = enrol(club, attributes={"address": "Storgatan 1, 114 55 Stockholm"})
    same_home = enrol(
        club,
        code=code_of(club, anna["id"]),
        attributes={"address": {"street": "STORGATAN 1", "postal_code": "11455", "city": "Sthlm"}},
    )
    # the city is written differently: not the same folded address
    assert referred(club, same_home["id"])["status"] == "pending"
    household = enrol(
        club,
        code=code_of(club, anna["id"]),
        attributes={
            "address": {"street": "Storgatan 1", "postal_code": "114 55", "city": "Stockholm"}
        },
    )
    assert _refused(club, household["id"]) == "shared_address"


@pytest.mark.parametrize(("field", "value"), [("phone", "070-123 45 67"), ("card_number", None)])
def test_a_friend_with_the_advocates_phone_or_card_cannot_even_enrol(
    club: Api, session: Session, field: str, value: str | None
) -> None:
    """Phones and cards are unique in the club: the enrolment is refused before a referral
    could be recorded (the guard compares them too, for what it learns later)."""
    anna = enrol(club, phone="+46701234567")
    body: dict[str, Any] = {
        "email": "alias@example.se",
        "referral_code": code_of(club, anna["id"]),
        field: value or anna["card_number"],
    }
    r = club.post("/members", body, scope="web")
    assert r.status_code == 409, r.text
    assert (r.json()["error"], r.json()["field"]) == ("IdentityTaken", field)
    assert _referrals(session) == 0


def test_a_friend_who_shares_an_address_by_the_first_purchase_is_refused_then(
    club: Api,
) -> None:
    """The guards run again at the qualifying purchase: an address added since counts."""
    anna = enrol(club, attributes={"address": "Storgatan 1, 114 55 Stockholm"})
    bo = enrol(club, code=code_of(club, anna["id"]))
    assert referred(club, bo["id"])["status"] == "pending"
    r = club.patch(
        f"/members/{bo['id']}", {"attributes": {"address": "storgatan 1, 11455 stockholm"}}
    )
    assert r.status_code == 200, r.text
    buy(club, bo["id"])
    assert _refused(club, bo["id"]) == "shared_address"
    assert page(club, anna["id"])["points_pending"] == 0


def test_a_customer_who_bought_before_enrolling_is_refused(club: Api) -> None:
    anna = enrol(club)
    r = club.post(
        "/purchases",
        {
            "order_id": "guest-1",
            "email": "guest@example.se",
            "lines": [{"sku": "A", "quantity": 1, "unit_price_minor": 30_000}],
        },
        scope="integration",
    )
    assert r.status_code == 201, r.text
    guest = enrol(club, code=code_of(club, anna["id"]), email="guest@example.se")
    assert _refused(club, guest["id"]) == "existing_customer"


def test_a_code_of_a_member_who_left_is_refused(club: Api) -> None:
    anna = enrol(club)
    code = code_of(club, anna["id"])
    assert club.post(f"/members/{anna['id']}/close").status_code == 200
    bo = enrol(club, code=code)
    assert _refused(club, bo["id"]) == "advocate_closed"


def test_an_enrolment_dated_long_ago_is_an_existing_member(club: Api, clock: FixedClock) -> None:
    anna = enrol(club, enrolled_at="2020-01-01T00:00:00Z")
    bo = enrol(club, code=code_of(club, anna["id"]), enrolled_at="2020-02-01T00:00:00Z")
    assert _refused(club, bo["id"]) == "already_member"


# ------------------------------------------------------------------ claims


def _claim(api: Api, member_id: int, code: str) -> Any:
    return api.post(f"/members/{member_id}/referral/claim", {"referral_code": code}, scope="web")


def test_a_member_may_add_a_friends_code_after_enrolling(club: Api) -> None:
    anna = enrol(club)
    bo = enrol(club)
    r = _claim(club, bo["id"], code_of(club, anna["id"]))
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["source"]) == ("pending", "claim")
    again = _claim(club, bo["id"], code_of(club, anna["id"]))
    assert again.status_code == 200
    assert again.json()["id"] == r.json()["id"]
    other = _claim(club, bo["id"], code_of(club, enrol(club)["id"]))
    assert other.status_code == 409
    assert other.json()["error"] == "AlreadyReferred"
    unknown = _claim(club, enrol(club)["id"], "ZZZZZZZZ")
    assert (unknown.status_code, unknown.json()["field"]) == (422, "referral_code")


def test_a_member_cannot_refer_themselves(club: Api) -> None:
    anna = enrol(club)
    r = _claim(club, anna["id"], code_of(club, anna["id"]))
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["reason"]) == ("refused", "self_referral")


def test_a_merged_members_code_belongs_to_the_member_that_carries_on(club: Api) -> None:
    anna = enrol(club)
    old = enrol(club)
    old_code = code_of(club, old["id"])
    assert (
        club.post(f"/members/{anna['id']}/merge", {"from_member_id": old["id"]}).status_code == 200
    )
    self_claim = _claim(club, anna["id"], old_code)
    assert (self_claim.json()["status"], self_claim.json()["reason"]) == (
        "refused",
        "self_referral",
    )
    friend = enrol(club, code=old_code)
    assert referred(club, friend["id"])["advocate_id"] == anna["id"]


def test_members_who_were_already_members_cannot_be_referred(club: Api, clock: FixedClock) -> None:
    early = enrol(club)
    anna = enrol(club, enrolled_at="2026-03-02T10:00:00Z")  # joined after `early`
    r = _claim(club, early["id"], code_of(club, anna["id"]))
    assert (r.json()["status"], r.json()["reason"]) == ("refused", "already_member")
    bo = enrol(club)
    clock.advance(timedelta(days=31))  # the default claim_days is 30
    late = _claim(
        club, bo["id"], code_of(club, enrol(club, enrolled_at="2026-01-01T00:00:00Z")["id"])
    )
    assert (late.json()["status"], late.json()["reason"]) == ("refused", "already_member")


def test_a_member_who_has_bought_cannot_claim_a_code(club: Api) -> None:
    anna = enrol(club)
    bo = enrol(club)
    buy(club, bo["id"])
    r = _claim(club, bo["id"], code_of(club, anna["id"]))
    assert (r.json()["status"], r.json()["reason"]) == ("refused", "existing_customer")


def test_claims_need_a_referral_programme(api: Api) -> None:
    bo = enrol(api)
    r = _claim(api, bo["id"], "ZZZZZZZZ")
    assert (r.status_code, r.json()["error"]) == (409, "ReferralsNotConfigured")
