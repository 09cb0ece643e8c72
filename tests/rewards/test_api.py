"""The rewards catalogue over HTTP: the marketer defines rewards and fills partner pools (admin),
members redeem in the app, the web portal or at the till (channel keys), idempotently."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from lojal.coupons import queries as coupon_queries
from tests.conftest import Api

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_catalogue() -> None:
    coupon_queries.forget_catalogue()


def _member(api: Api, points: int) -> int:
    r = api.post("/members", {"email": f"m{next(_seq)}@example.se"}, scope="web")
    assert r.status_code == 201, r.text
    member_id: int = r.json()["id"]
    if points:
        r = api.post(f"/members/{member_id}/points/adjust", {"points": points, "reason": "gift"})
        assert r.status_code == 200, r.text
    return member_id


def _reward(api: Api, **kw: Any) -> dict[str, Any]:
    body = {
        "code": f"r-{next(_seq)}",
        "name": "Coffee voucher",
        "kind": "coupon",
        "points_price": 200,
        "coupon": {"discount_kind": "amount", "amount_minor": 3_000},
        **kw,
    }
    r = api.post("/rewards", body)
    assert r.status_code == 201, r.text
    reward: dict[str, Any] = r.json()
    return reward


def _available(api: Api, member_id: int) -> int:
    points: int = api.get(f"/members/{member_id}/points", scope="web").json()["available"]
    return points


def test_a_member_redeems_at_the_till_and_gets_a_coupon(api: Api) -> None:
    reward = _reward(api)
    member = _member(api, 500)
    path = f"/members/{member}/rewards/{reward['id']}/redeem"
    r = api.post(path, {"reference": "till-7:123", "channel": "store"}, scope="web")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["points"], body["member_id"], body["reward_code"]) == (200, member, reward["code"])
    coupon = body["coupon"]
    assert coupon["display"].replace("-", "") == coupon["code"]
    again = api.post(path, {"reference": "till-7:123", "channel": "store"}, scope="web")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert _available(api, member) == 300  # spent once
    check = api.post(
        "/coupons/validate",
        {"code": coupon["display"], "member_id": member, "basket": {"total_minor": 10_000}},
        scope="web",
    )
    assert check.json()["discount_minor"] == 3_000
    mine = api.get(f"/members/{member}/reward-redemptions", scope="integration").json()
    assert [m["id"] for m in mine] == [body["id"]]


def test_an_idempotency_key_redeems_once(api: Api) -> None:
    reward = _reward(api)
    member = _member(api, 500)
    path = f"/members/{member}/rewards/{reward['id']}/redeem"
    first = api.post(path, {"channel": "app"}, scope="integration", idempotency_key="tap-1")
    second = api.post(path, {"channel": "app"}, scope="integration", idempotency_key="tap-1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()
    assert _available(api, member) == 300


def test_refusals_speak_the_domain(api: Api) -> None:
    member = _member(api, 100)
    dear = _reward(api, points_price=1_000)
    r = api.post(f"/members/{member}/rewards/{dear['id']}/redeem", {}, scope="web")
    assert r.status_code == 409
    assert r.json()["error"] == "InsufficientPoints"
    fuel = _reward(api, kind="partner", coupon=None, points_price=50)
    r = api.post(f"/members/{member}/rewards/{fuel['id']}/redeem", {}, scope="web")
    assert (r.status_code, r.json()["error"]) == (409, "PartnerPoolEmpty")
    assert _available(api, member) == 100
    r = api.post(f"/members/{member}/rewards/999999/redeem", {}, scope="web")
    assert (r.status_code, r.json()["error"]) == (404, "RewardNotFound")
    r = api.post("/rewards", {"code": "Bad Code", "name": "x", "kind": "experience"})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["code"]
    r = api.post("/rewards", {"code": "x", "name": "x", "kind": "experience"})
    assert r.status_code == 422
    assert "points_price" in r.json()["detail"]
    lounge = {"code": "x", "name": "x", "kind": "experience", "points_price": 1}
    assert api.post("/rewards", lounge).status_code == 201
    r = api.post("/rewards", lounge)
    assert (r.status_code, r.json()["error"], r.json()["field"]) == (409, "RewardCodeTaken", "code")


def test_only_an_admin_defines_rewards(api: Api) -> None:
    body = {"code": "lounge", "name": "Lounge", "kind": "experience", "points_price": 5}
    assert api.post("/rewards", body, scope="web").status_code == 403
    assert api.post("/rewards", body).status_code == 201


def test_partner_codes_are_imported_then_given_out(api: Api) -> None:
    fuel = _reward(api, kind="partner", coupon=None, points_price=50, name="Fuel -1 SEK/l")
    r = api.post(f"/rewards/{fuel['id']}/partner-codes", {"codes": ["F-1", "F-2", "F-1"]})
    assert r.status_code == 200, r.text
    assert (r.json()["imported"], r.json()["duplicates"], r.json()["available"]) == (2, 1, 2)
    member = _member(api, 100)
    r = api.post(f"/members/{member}/rewards/{fuel['id']}/redeem", {"channel": "web"}, "web")
    assert r.status_code == 201, r.text
    assert (r.json()["partner_code"], r.json()["coupon"]) == ("F-1", None)
    assert api.get(f"/rewards/{fuel['id']}", scope="web").json()["partner_codes_left"] == 1


def test_the_rewards_a_member_can_afford(api: Api) -> None:
    cheap = _reward(api, points_price=100)
    _reward(api, points_price=10_000)
    pay = _reward(api, kind="points_payment", coupon=None, points_price=None, max_points=400)
    member = _member(api, 250)
    offers = api.get(f"/members/{member}/rewards", scope="web").json()
    assert [(o["reward_id"], o["max_points"]) for o in offers] == [
        (cheap["id"], None),
        (pay["id"], 250),
    ]
    r = api.post(
        f"/members/{member}/rewards/{pay['id']}/redeem",
        {"amount_minor": 150, "channel": "web"},
        scope="integration",
    )
    assert r.status_code == 201, r.text
    assert (r.json()["points"], r.json()["coupon"]["amount_minor"]) == (150, 150)
