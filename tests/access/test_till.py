"""A till key: one store's purchases and returns, members found only by an identity shown at the
till, acting for that member only, a view without personal fields (OWASP API 2023: API1 BOLA,
API3 property-level authorisation, API5 function-level authorisation). On both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lojal.access import handles
from lojal.clock import FixedClock
from tests.conftest import TILL_STORE, Api
from tests.factories import purchase_payload, return_payload, unique

PERSONAL = {"email", "phone", "last_name", "birth_date", "attributes", "consents", "external_id"}


def _enrol(api: Api, **extra: Any) -> dict[str, Any]:
    body = {
        "email": f"{unique('m')}@example.se",
        "phone": "0701234567" if not extra.pop("no_phone", False) else None,
        "first_name": "Anna",
        "last_name": "Andersson",
        "birth_date": "1980-05-17",
        "attributes": {"address": "Storgatan 1, Stockholm"},
        **extra,
    }
    r = api.post("/members", {k: v for k, v in body.items() if v is not None}, scope="web")
    assert r.status_code == 201, r.text
    member: dict[str, Any] = r.json()
    return member


def _funded(api: Api, points: int = 100) -> dict[str, Any]:
    member = _enrol(api, no_phone=True)
    r = api.post(f"/members/{member['id']}/points/adjust", {"points": points, "reason": "gift"})
    assert r.status_code == 200, r.text
    return member


def test_the_till_finds_a_member_by_card_email_or_phone_and_sees_no_personal_field(
    api: Api,
) -> None:
    member = _enrol(api)
    for params in (
        {"card": member["card_number"]},
        {"email": member["email"]},
        {"phone": "070-123 45 67"},
    ):
        r = api.get("/till/members", scope="pos", params=params)
        assert r.status_code == 200, (params, r.text)
        view = r.json()
        assert set(view) == {
            "id",
            "status",
            "first_name",
            "card_number",
            "locale",
            "handle",
            "handle_expires_at",
        }
        assert not PERSONAL & set(view)
        assert "Storgatan" not in r.text
        assert "1980" not in r.text
        assert (view["id"], view["first_name"]) == (member["id"], "Anna")
    # the shop's customer id is not shown at a till; nor is a lookup by nothing or by two
    assert api.get("/till/members", scope="pos", params={}).status_code == 422
    both = {"card": member["card_number"], "email": member["email"]}
    assert api.get("/till/members", scope="pos", params=both).status_code == 422
    nobody = api.get("/till/members", scope="pos", params={"card": "0000000000000000"})
    assert (nobody.status_code, nobody.json()["error"]) == (404, "MemberNotFound")


def test_the_till_cannot_search_read_or_change_members_the_web_shop_way(api: Api) -> None:
    member = _enrol(api)
    m = member["id"]
    handle = api.handle(card=member["card_number"])
    refused = [
        api.get("/members", scope="pos", params={"email": member["email"]}),
        api.get(f"/members/{m}", scope="pos", handle=handle),
        api.client.patch(
            f"/api/v1/members/{m}",
            json={"email": "new@example.se"},
            headers=api.headers("pos", handle=handle),
        ),
        api.get(f"/members/{m}/ledger", scope="pos", handle=handle),
        api.get(f"/members/{m}/inbox", scope="pos", handle=handle),
        api.get(f"/members/{m}/segments", scope="pos", handle=handle),
    ]
    assert [(r.status_code, r.json()["error"]) for r in refused] == [(403, "MissingScope")] * 6
    assert api.get(f"/members/{m}", scope="web").json()["email"] == member["email"]


def test_the_till_cannot_walk_member_ids(api: Api) -> None:
    members = [_funded(api)["id"] for _ in range(3)]
    for m in [*members, 999_999]:
        for r in (
            api.get(f"/members/{m}/points", scope="pos"),
            api.get(f"/members/{m}/rewards", scope="pos"),
            api.get(f"/members/{m}/coupons", scope="pos"),
            api.post(f"/members/{m}/points/spend", {"points": 1}, scope="pos"),
        ):
            assert (r.status_code, r.json()["error"]) == (403, "HandleRequired"), r.text
    for m in members:
        assert api.get(f"/members/{m}/points", scope="web").json()["available"] == 100


def test_the_till_spends_for_the_member_it_found_and_no_other(api: Api) -> None:
    found, other = _funded(api), _funded(api)
    handle = api.handle(card=found["card_number"])
    r = api.post(f"/members/{found['id']}/points/spend", {"points": 30}, "pos", handle=handle)
    assert (r.status_code, r.json()["available"]) == (200, 70), r.text
    points = api.get(f"/members/{found['id']}/points", scope="pos", handle=handle)
    assert points.json()["available"] == 70
    # the handle of one member opens no other
    r = api.post(f"/members/{other['id']}/points/spend", {"points": 30}, "pos", handle=handle)
    assert (r.status_code, r.json()["error"]) == (403, "HandleRequired")
    assert api.get(f"/members/{other['id']}/points", scope="web").json()["available"] == 100
    # a forged handle, or one of another member's id with this signature
    _member_id, expires, signature = handle.split(".")
    forged = f"{other['id']}.{expires}.{signature}"
    r = api.get(f"/members/{other['id']}/points", scope="pos", handle=forged)
    assert (r.status_code, r.json()["error"]) == (403, "HandleRequired")


def test_a_handle_is_the_till_keys_own_and_expires(api: Api, clock: FixedClock) -> None:
    member = _funded(api)
    handle = api.handle(email=member["email"])
    made = api.post("/api-keys", {"name": "till 2", "kind": "till", "store_id": "store-2"})
    assert made.status_code == 201, made.text
    other_till = {"Authorization": f"Bearer {made.json()['key']}", handles.HEADER: handle}
    r = api.client.get(f"/api/v1/members/{member['id']}/points", headers=other_till)
    assert (r.status_code, r.json()["error"]) == (403, "HandleRequired")
    clock.advance(handles.LIFETIME + timedelta(seconds=1))
    r = api.get(f"/members/{member['id']}/points", scope="pos", handle=handle)
    assert (r.status_code, r.json()["error"]) == (403, "HandleRequired")
    fresh = api.handle(email=member["email"])
    assert api.get(f"/members/{member['id']}/points", scope="pos", handle=fresh).status_code == 200


def test_the_till_records_purchases_of_its_own_store_only(api: Api) -> None:
    member = _enrol(api)
    other = api.post(
        "/purchases",
        purchase_payload(card_number=member["card_number"], store_id="store-9"),
        scope="pos",
    )
    assert (other.status_code, other.json()["error"]) == (403, "OtherStore")
    assert other.json()["field"] == "store_id"
    mine = api.post("/purchases", purchase_payload(card_number=member["card_number"]), scope="pos")
    assert mine.status_code == 201, mine.text
    assert (mine.json()["store_id"], mine.json()["member_id"]) == (TILL_STORE, member["id"])
    named = purchase_payload(card_number=member["card_number"], store_id=TILL_STORE)
    assert api.post("/purchases", named, scope="pos").status_code == 201
    # by member id: only with the handle of that member
    by_id = purchase_payload(member_id=member["id"])
    r = api.post("/purchases", by_id, scope="pos")
    assert (r.status_code, r.json()["error"]) == (403, "HandleRequired")
    handle = api.handle(card=member["card_number"])
    assert api.post("/purchases", by_id, scope="pos", handle=handle).status_code == 201
    # the web shop records any store
    assert (
        api.post(
            "/purchases", purchase_payload(store_id="store-9", member_id=member["id"]), scope="web"
        ).status_code
        == 201
    )


def test_the_till_returns_orders_of_its_own_store_only(api: Api) -> None:
    member = _enrol(api)
    elsewhere = purchase_payload(member_id=member["id"], store_id="store-9")
    assert api.post("/purchases", elsewhere, scope="web").status_code == 201
    r = api.post("/returns", return_payload(elsewhere["order_id"]), scope="pos")
    assert (r.status_code, r.json()["error"]) == (403, "OtherStore")
    # replaying a return of another store's order shows the till nothing either
    returned = return_payload(elsewhere["order_id"])
    assert api.post("/returns", returned, scope="web").status_code == 201
    r = api.post("/returns", returned, scope="pos")
    assert (r.status_code, r.json()["error"]) == (403, "OtherStore")
    here = purchase_payload(card_number=member["card_number"])
    assert api.post("/purchases", here, scope="pos").status_code == 201
    r = api.post("/returns", return_payload(here["order_id"]), scope="pos")
    assert r.status_code == 201, r.text


def test_a_coupon_check_at_the_till_is_of_its_store(api: Api) -> None:
    check = {"code": "NOPE-0000", "basket": {"total_minor": 10_000}, "store_id": "store-9"}
    r = api.post("/coupons/validate", check, scope="pos")
    assert (r.status_code, r.json()["error"]) == (403, "OtherStore")
    assert (
        api.post("/coupons/validate", {**check, "store_id": TILL_STORE}, scope="pos").json()[
            "valid"
        ]
        is False
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/program", None),
        ("PUT", "/program", {}),
        ("POST", "/members/1/points/adjust", {"points": 5, "reason": "x"}),
        ("POST", "/members/1/close", None),
        ("GET", "/audit", None),
        ("GET", "/api-keys", None),
        ("POST", "/api-keys", {"name": "mine", "kind": "admin"}),
        ("GET", "/coupon-campaigns", None),
        ("GET", "/segments", None),
        ("GET", "/members/1/export", None),
    ],
)
def test_a_till_calling_an_admin_operation_is_refused(
    api: Api, method: str, path: str, body: Any
) -> None:
    r = api.client.request(method, f"/api/v1{path}", json=body, headers=api.headers("pos"))
    assert (r.status_code, r.json()["error"]) == (403, "MissingScope"), r.text
    assert "admin" in r.json()["detail"]


def _coupon_code(api: Api) -> str:
    body = {"name": unique("Till campaign"), "discount_kind": "amount", "amount_minor": 1_000}
    campaign = api.post("/coupon-campaigns", body)
    assert campaign.status_code == 201, campaign.text
    cid = campaign.json()["id"]
    r = api.post(f"/coupon-campaigns/{cid}/batches", {"key": "b1", "count": 1})
    assert r.status_code == 200, r.text
    page = api.get(f"/coupon-campaigns/{cid}/codes", params={"batch": "b1"}).json()
    code: str = page["codes"][0]["code"]
    return code


def test_a_till_releases_and_commits_only_its_own_stores_reservations(api: Api) -> None:
    code = _coupon_code(api)
    basket = {"total_minor": 10_000, "currency": "SEK"}
    # the web shop holds the code for a basket of another store
    hold = {"code": code, "reference": "basket-9", "basket": basket, "store_id": "store-9"}
    r = api.post("/coupons/reserve", hold, scope="web")
    assert (r.status_code, r.json()["state"]) == (200, "reserved"), r.text
    # a till of store-1 sees no such reservation: it can neither release nor redeem it
    release = {"code": code, "reference": "basket-9"}
    r = api.post("/coupons/release", release, scope="pos")
    assert (r.status_code, r.json()["error"]) == (404, "ReservationNotFound")
    commit = {"code": code, "reference": "basket-9", "order_id": unique("o")}
    r = api.post("/coupons/commit", commit, scope="pos")
    assert (r.status_code, r.json()["error"]) == (404, "ReservationNotFound")
    # the reservation is untouched: the web shop releases it
    r = api.post("/coupons/release", release, scope="web")
    assert (r.status_code, r.json()["state"]) == (200, "released")
    # the till's own reservation it releases and redeems
    mine = {"code": code, "reference": "basket-1", "basket": basket}
    r = api.post("/coupons/reserve", mine, scope="pos")
    assert r.status_code == 200, r.text
    r = api.post("/coupons/release", {"code": code, "reference": "basket-1"}, scope="pos")
    assert (r.status_code, r.json()["state"]) == (200, "released")
    assert api.post("/coupons/reserve", mine, scope="pos").status_code == 200
    order = unique("o")
    done = {"code": code, "reference": "basket-1", "order_id": order}
    r = api.post("/coupons/commit", done, scope="pos")
    assert (r.status_code, r.json()["state"]) == (200, "redeemed"), r.text
    again = api.post("/coupons/commit", done, scope="pos")  # the same order: the same answer
    assert (again.status_code, again.json()["id"]) == (200, r.json()["id"])
    # another store's redeemed order is not shown to this till
    other = _coupon_code(api)
    theirs = {"code": other, "basket": basket, "order_id": unique("o"), "store_id": "store-9"}
    assert api.post("/coupons/commit", theirs, scope="web").status_code == 200
    mine_too = {**theirs, "store_id": TILL_STORE}
    r = api.post("/coupons/commit", mine_too, scope="pos")
    assert (r.status_code, r.json()["error"]) == (409, "AlreadyRedeemed")
    assert "store-9" not in r.text
