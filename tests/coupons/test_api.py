"""Coupons over HTTP: the marketer's campaigns and batches (admin), and validate / reserve /
commit / release as a till or a web shop calls them, with the foundation's error shape."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from lojal.coupons import codes, queries
from tests.conftest import Api
from tests.factories import purchase_payload, return_payload

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_catalogue() -> None:
    queries.forget_catalogue()


def _campaign(api: Api, **kw: Any) -> dict[str, Any]:
    body = {"name": f"Campaign {next(_seq)}", "discount_kind": "amount", "amount_minor": 2_500}
    r = api.post("/coupon-campaigns", {**body, **kw})
    assert r.status_code == 201, r.text
    campaign: dict[str, Any] = r.json()
    return campaign


def _codes(api: Api, campaign_id: int, count: int, key: str = "b1") -> list[str]:
    r = api.post(f"/coupon-campaigns/{campaign_id}/batches", {"key": key, "count": count})
    assert r.status_code == 200, r.text
    assert r.json()["done"] is True
    page = api.get(f"/coupon-campaigns/{campaign_id}/codes", params={"batch": key}).json()
    return [c["code"] for c in page["codes"]]


def _basket(total: int = 10_000) -> dict[str, Any]:
    return {"total_minor": total, "currency": "SEK"}


def test_a_campaign_generates_codes_that_a_till_validates(api: Api) -> None:
    campaign = _campaign(api, code_prefix="VT", code_length=10)
    assert campaign["possible_codes"] == 31**10 >= 10**12
    made = _codes(api, campaign["id"], 25)
    assert len(set(made)) == 25
    assert all(c.startswith("VT") and codes.is_well_formed(c) for c in made)
    r = api.post("/coupons/validate", {"code": made[0], "basket": _basket()}, scope="web")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["valid"], body["discount_minor"], body["campaign_id"]) == (
        True,
        2_500,
        campaign["id"],
    )
    wrong = api.post("/coupons/validate", {"code": "VT2222", "basket": _basket()}, scope="web")
    assert (wrong.status_code, wrong.json()["valid"], wrong.json()["reason"]) == (
        200,
        False,
        "UnknownCode",
    )


def test_reserve_commit_and_release_over_http(api: Api) -> None:
    [code] = _codes(api, _campaign(api)["id"], 1)
    hold = {"code": code, "reference": "basket-1", "basket": _basket(), "channel": "web"}
    r = api.post("/coupons/reserve", hold, scope="integration", idempotency_key="h1")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["discount_minor"]) == ("reserved", 2_500)
    replay = api.post("/coupons/reserve", hold, scope="integration", idempotency_key="h1")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    other = {**hold, "reference": "basket-2"}
    r = api.post("/coupons/reserve", other, scope="integration")
    assert (r.status_code, r.json()["error"]) == (409, "CouponUsedUp")
    r = api.post("/coupons/release", {"code": code, "reference": "basket-1"}, scope="integration")
    assert r.json()["state"] == "released"
    assert api.post("/coupons/reserve", other, scope="integration").status_code == 200
    done = {"code": code, "reference": "basket-2", "order_id": "web-1001"}
    r = api.post("/coupons/commit", done, scope="integration")
    assert (r.status_code, r.json()["state"], r.json()["order_id"]) == (200, "redeemed", "web-1001")
    again = api.post("/coupons/commit", done, scope="integration")
    assert again.json()["id"] == r.json()["id"]  # the same order: the same redemption
    r = api.post("/coupons/release", {"code": code, "reference": "basket-2"}, scope="integration")
    assert (r.status_code, r.json()["error"]) == (409, "AlreadyRedeemed")


def test_refusals_and_discounts_say_their_amounts_in_money(api: Api) -> None:
    campaign = _campaign(api, min_spend_minor=20_000)
    [code] = _codes(api, campaign["id"], 1)
    short = {"code": code, "basket": _basket(15_000)}
    r = api.post("/coupons/validate", short, scope="web")
    assert (r.json()["reason"], r.json()["discount_minor"]) == ("MinimumSpendNotMet", 0)
    assert r.json()["detail"].replace("\xa0", " ") == (
        "the basket is SEK 150.00 but the coupon needs a spend of SEK 200.00"
    )
    r = api.post("/coupons/commit", {**short, "order_id": "o-money"}, scope="web")
    assert (r.status_code, r.json()["error"]) == (409, "MinimumSpendNotMet")
    assert "SEK\xa0150.00" in r.json()["detail"]
    r = api.post("/coupons/validate", {"code": code, "basket": _basket(30_000)}, scope="web")
    assert (r.json()["valid"], r.json()["discount_minor"]) == (True, 2_500)  # JSON: minor units
    assert r.json()["detail"] == "SEK\xa025.00 off"


def test_refusals_are_readable_reason_codes(api: Api) -> None:
    campaign = _campaign(api, min_spend_minor=20_000, channels=["web"], stores=[])
    [code] = _codes(api, campaign["id"], 1)
    cases = [
        ({"basket": _basket(15_000), "channel": "web"}, "MinimumSpendNotMet"),
        ({"basket": _basket(25_000), "channel": "store"}, "ChannelNotAllowed"),
    ]
    for extra, reason in cases:
        r = api.post("/coupons/validate", {"code": code, **extra}, scope="web")
        assert (r.json()["valid"], r.json()["reason"]) == (False, reason)
        assert r.json()["detail"]
    commit = {"code": code, "order_id": "o-1", "basket": _basket(15_000), "channel": "web"}
    r = api.post("/coupons/commit", commit, scope="web")
    assert r.status_code == 409
    assert set(r.json()) >= {"error", "detail"}
    assert r.json()["error"] == "MinimumSpendNotMet"
    r = api.post("/coupons/commit", {"code": code, "order_id": "o-1"}, scope="web")
    assert r.status_code == 422  # neither a reservation nor a basket
    r = api.post("/coupons/validate", {"code": code, "basket": {"currency": "EUR"}}, scope="web")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "basket"
    r = api.post(
        "/coupons/validate",
        {"code": code, "basket": {**_basket(30_000), "currency": "EUR"}, "channel": "web"},
        scope="web",
    )
    assert (r.status_code, r.json()["error"], r.json()["field"]) == (
        422,
        "CurrencyMismatch",
        "basket.currency",
    )


def test_a_public_campaign_code_is_tracked_per_campaign(api: Api) -> None:
    campaign = _campaign(
        api, public_code="sommar-26", hashtag="#Sommar26", uses_per_code=None, uses_per_member=1
    )
    assert (campaign["public_code"], campaign["hashtag"]) == ("SOMMAR26", "#Sommar26")
    m = api.post("/members", {"email": "sommar@example.se"}, scope="web").json()["id"]
    api.post("/coupons/validate", {"code": "Sommar 26", "basket": _basket()}, scope="web")
    order = purchase_payload(member_id=m)
    assert api.post("/purchases", order, scope="web").status_code == 201
    r = api.post(
        "/coupons/commit",
        {"code": "SOMMAR26", "member_id": m, "order_id": order["order_id"], "basket": _basket()},
        scope="web",
    )
    assert r.status_code == 200, r.text
    report = api.get(f"/coupon-campaigns/{campaign['id']}/report").json()
    assert report["hashtag"] == "#Sommar26"
    assert (report["validations"], report["redemptions"], report["orders_recorded"]) == (1, 1, 1)
    assert report["discount_minor"] == 2_500


@pytest.mark.parametrize("restore", [True, False])
def test_returning_the_order_restores_the_coupon_when_the_campaign_says_so(
    api: Api, restore: bool
) -> None:
    [code] = _codes(api, _campaign(api, restore_on_return=restore)["id"], 1)
    m = api.post("/members", {"email": f"r{next(_seq)}@example.se"}, scope="web").json()["id"]
    order = purchase_payload(member_id=m)
    assert api.post("/purchases", order, scope="web").status_code == 201
    commit = {"code": code, "order_id": order["order_id"], "basket": _basket()}
    assert api.post("/coupons/commit", commit, scope="web").status_code == 200
    r = api.post("/returns", return_payload(order["order_id"]), scope="web")
    assert r.status_code == 201, r.text
    r = api.post("/coupons/validate", {"code": code, "basket": _basket()}, scope="web")
    assert r.json()["valid"] is restore
    assert r.json()["reason"] == (None if restore else "CouponUsedUp")


def test_campaigns_are_the_admins(api: Api) -> None:
    body = {"name": "x", "discount_kind": "percent", "percent": 10}
    assert api.post("/coupon-campaigns", body, scope="web").status_code == 403
    r = api.post("/coupon-campaigns", {**body, "percent": 120})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "percent"
    r = api.post("/coupon-campaigns", {**body, "code_length": 8})  # < 10**12 possible codes
    assert r.json()["errors"][0]["field"] == "code_length"
    campaign = _campaign(api)
    r = api.patch(f"/coupon-campaigns/{campaign['id']}", {"active": False})
    assert (r.status_code, r.json()["active"]) == (200, False)
    assert api.get("/coupon-campaigns/999999").json()["error"] == "CampaignNotFound"


def test_a_code_issued_to_a_member_is_listed_for_them(api: Api) -> None:
    campaign = _campaign(api)
    m = api.post("/members", {"email": "gift@example.se"}, scope="web").json()["id"]
    issue = {"member_id": m, "reference": "birthday-2026"}
    r = api.post(f"/coupon-campaigns/{campaign['id']}/codes", issue)
    assert r.status_code == 201, r.text
    again = api.post(f"/coupon-campaigns/{campaign['id']}/codes", issue)
    assert again.json()["code"] == r.json()["code"]
    mine = api.get(f"/members/{m}/coupons", scope="web").json()
    assert [c["code"] for c in mine] == [r.json()["code"]]
