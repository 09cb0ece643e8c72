"""Purchases, returns and events through the HTTP API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.factories import event_payload, line, purchase_payload, return_payload, unique


def _fields(response: Any) -> list[str]:
    body = response.json()
    return [body.get("field")] + [e["field"] for e in body.get("errors", [])]


def _member(api: Api, **kw: Any) -> int:
    r = api.post("/members", {"email": f"{unique('m')}@example.se", **kw}, scope="web")
    assert r.status_code == 201, r.text
    member_id: int = r.json()["id"]
    return member_id


def _points(api: Api, member_id: int) -> dict[str, Any]:
    r = api.get(f"/members/{member_id}/points", scope="web")
    assert r.status_code == 200, r.text
    points: dict[str, Any] = r.json()
    return points


def test_purchase_earns_pending_points_with_lot_dates(api: Api) -> None:
    m = _member(api)
    r = api.post(
        "/purchases",
        purchase_payload(
            member_id=m,
            lines=[
                line("A", quantity=2, unit_price_minor=10_050),
                line("B", unit_price_minor=5_000),
            ],
        ),
        scope="web",
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["points"] == 201 + 50
    assert [ln["points"] for ln in body["lines"]] == [201, 50]
    assert body["explanation"]
    points = _points(api, m)
    assert points["pending"] == 251
    assert points["available"] == 0
    assert points["lifetime_earned"] == 251
    [lot] = points["lots"]
    assert lot["points"] == 251
    assert lot["state"] == "pending"
    assert lot["earned_at"].startswith("2026-03-02T09:00")
    assert lot["available_at"].startswith("2026-03-16T09:00")
    assert lot["expires_at"].startswith("2027-03-02T09:00")


def test_partial_returns_claw_back_exactly_the_returned_lines(api: Api) -> None:
    m = _member(api)
    order = purchase_payload(
        member_id=m,
        lines=[line("A", quantity=2, unit_price_minor=10_050), line("B", unit_price_minor=5_000)],
    )
    api.post("/purchases", order, scope="web")
    r1 = api.post(
        "/returns",
        return_payload(order["order_id"], lines=[{"line_no": 1, "quantity": 1}]),
        scope="web",
    )
    assert r1.status_code == 201, r1.text
    assert r1.json()["points_clawed_back"] == 100
    assert r1.json()["total_minor"] == 10_050
    assert _points(api, m)["pending"] == 151
    r2 = api.post(
        "/returns",
        return_payload(order["order_id"], lines=[{"sku": "A", "quantity": 1}]),
        scope="web",
    )
    assert r2.json()["points_clawed_back"] == 101
    r3 = api.post("/returns", return_payload(order["order_id"]), scope="web")
    assert r3.status_code == 201, r3.text
    assert r3.json()["points_clawed_back"] == 50
    points = _points(api, m)
    assert points["pending"] == 0
    assert points["lifetime_earned"] == 0
    nothing = api.post("/returns", return_payload(order["order_id"]), scope="web")
    assert nothing.status_code == 409
    assert nothing.json()["error"] == "NothingToReturn"


def test_order_bonus_is_clawed_back_only_with_the_last_line(api: Api) -> None:
    program = api.get("/program").json()["config"]
    program["rules"].append(
        {
            "id": "big",
            "kind": "bonus",
            "points": 50,
            "when": {"field": "purchase.total_minor", "op": "gte", "value": 10_000},
        }
    )
    assert api.put("/program", program).status_code == 200
    m = _member(api)
    order = purchase_payload(
        member_id=m,
        lines=[line("A", quantity=3, unit_price_minor=5_000), line("B", unit_price_minor=2_500)],
    )
    r = api.post("/purchases", order, scope="web")
    assert r.json()["points"] == 150 + 25 + 50
    returns = [[{"line_no": 1, "quantity": 2}], [{"line_no": 2}], [{"line_no": 1}]]
    clawed = []
    for lines in returns:
        rr = api.post("/returns", return_payload(order["order_id"], lines=lines), scope="web")
        assert rr.status_code == 201, rr.text
        clawed.append(rr.json()["points_clawed_back"])
    assert clawed == [100, 25, 50 + 50]
    assert sum(clawed) == 225
    assert _points(api, m)["pending"] == 0


def test_return_quantity_larger_than_purchased_names_the_line(api: Api) -> None:
    m = _member(api)
    order = purchase_payload(member_id=m, lines=[line("A", quantity=2)])
    api.post("/purchases", order, scope="web")
    r = api.post(
        "/returns",
        return_payload(order["order_id"], lines=[{"line_no": 1, "quantity": 3}]),
        scope="web",
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "lines[0].quantity"
    assert _points(api, m)["pending"] == 200


def test_return_of_an_unknown_order_is_404(api: Api) -> None:
    r = api.post("/returns", return_payload("no-such-order"), scope="web")
    assert r.status_code == 404
    assert r.json()["error"] == "OrderNotFound"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": None}, "lines"),
        ({"lines": [line(quantity=0)]}, "lines[0].quantity"),
        ({"lines": [line(unit_price_minor=-1)]}, "lines[0].unit_price_minor"),
        ({"currency": "EUR"}, "currency"),
        ({"currency": "sek"}, "currency"),
        ({"member_id": 987654}, "member_id"),
        ({"email": "not an email"}, "email"),
        ({"order_id": ""}, "order_id"),
    ],
)
def test_bad_purchases_are_422_naming_the_field(
    api: Api, change: dict[str, Any], field: str
) -> None:
    payload = purchase_payload(email="valid@example.se")
    payload.update(change)
    if payload.get("lines") is None:
        del payload["lines"]
    r = api.post("/purchases", payload, scope="web")
    assert r.status_code == 422, r.text
    assert field in _fields(r)


def test_purchase_without_anyone_is_422(api: Api) -> None:
    payload = purchase_payload()
    r = api.post("/purchases", payload, scope="web")
    assert r.status_code == 422


def test_natural_ids_make_replays_harmless(api: Api) -> None:
    m = _member(api)
    order = purchase_payload(member_id=m)
    assert api.post("/purchases", order, scope="web").status_code == 201
    again = api.post("/purchases", order, scope="web")
    assert again.status_code == 200
    assert again.json()["points"] == 100
    assert _points(api, m)["pending"] == 100
    ret = return_payload(order["order_id"], lines=[{"line_no": 1}])
    assert api.post("/returns", ret, scope="web").status_code == 201
    replay = api.post("/returns", ret, scope="web")
    assert replay.status_code == 200
    assert replay.json()["points_clawed_back"] == 100
    ev = event_payload(member_id=m)
    assert api.post("/events", ev, scope="web").status_code == 201
    assert api.post("/events", ev, scope="web").status_code == 200
    points = _points(api, m)
    assert points["pending"] == 0
    assert points["lifetime_earned"] == 0


def test_idempotency_key_replays_the_first_response(api: Api) -> None:
    m = _member(api)
    order = purchase_payload(member_id=m)
    first = api.post("/purchases", order, scope="web", idempotency_key="k-1")
    assert first.status_code == 201
    replay = api.post("/purchases", order, scope="web", idempotency_key="k-1")
    assert replay.status_code == 201
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == first.json()
    other = api.post(
        "/purchases", purchase_payload(member_id=m), scope="web", idempotency_key="k-1"
    )
    assert other.status_code == 422
    assert other.json()["error"] == "IdempotencyKeyReused"
    assert _points(api, m)["pending"] == 100
    member = api.post("/members", {"email": "idem@example.se"}, scope="web", idempotency_key="k-2")
    again = api.post("/members", {"email": "idem@example.se"}, scope="web", idempotency_key="k-2")
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == member.json()["id"]


def test_activity_needs_a_valid_key(api: Api) -> None:
    r = api.client.post("/api/v1/purchases", json=purchase_payload(email="x@example.se"))
    assert r.status_code == 401
    r = api.client.post(
        "/api/v1/purchases",
        json=purchase_payload(email="x@example.se"),
        headers={"Authorization": "Bearer lojal_nope_nope"},
    )
    assert r.status_code == 401
    assert api.get("/members", params={"email": "x@example.se"}, scope="web").status_code == 404


def test_event_rule_with_a_monthly_cap(api: Api) -> None:
    program = api.get("/program").json()["config"]
    program["rules"].append(
        {
            "id": "review",
            "kind": "event",
            "event_type": "review_written",
            "points": 20,
            "cap": {"points": 50, "period": "month"},
        }
    )
    assert api.put("/program", program).status_code == 200
    m = _member(api)
    awarded = []
    # February (two days before the clock's 2 March: within what a till may back-date)
    last_month = "2026-02-28T12:00:00Z"
    for _ in range(4):
        r = api.post("/events", event_payload(member_id=m, occurred_at=last_month), scope="web")
        assert r.status_code == 201, r.text
        awarded.append(r.json()["points"])
    assert awarded == [20, 20, 10, 0]
    other = api.post(
        "/events",
        event_payload("survey_answered", member_id=m, occurred_at=last_month),
        scope="web",
    )
    assert other.json()["points"] == 0
    next_month = api.post("/events", event_payload(member_id=m), scope="web")
    assert next_month.json()["points"] == 20
    assert _points(api, m)["lifetime_earned"] == 70
    bad = api.post("/events", event_payload("Not A Type", member_id=m), scope="web")
    assert bad.status_code == 422
    assert "type" in _fields(bad)


def test_times_without_an_offset_are_utc_never_500(api: Api) -> None:
    # history a month back: an admin key's (a till may back-date a few days only)
    m = _member(api)
    r = api.post(
        "/purchases",
        purchase_payload(member_id=m, occurred_at="2026-02-01T10:00:00"),
        scope="admin",
    )
    assert r.status_code == 201, r.text
    assert r.json()["occurred_at"].startswith("2026-02-01T10:00:00")
    # earned 29 days ago: past the 14-day pending period already
    assert _points(api, m)["available"] == 100
    ev = api.post(
        "/events", event_payload(member_id=m, occurred_at="2026-02-01T10:00:00"), scope="admin"
    )
    assert ev.status_code == 201, ev.text
    rr = api.post(
        "/returns",
        return_payload(r.json()["order_id"], occurred_at="2026-02-02T10:00:00"),
        scope="admin",
    )
    assert rr.status_code == 201, rr.text
    assert rr.json()["points_clawed_back"] == 100


def test_event_before_enrolment_is_credited(api: Api) -> None:
    program = api.get("/program").json()["config"]
    program["rules"].append(
        {"id": "review", "kind": "event", "event_type": "review_written", "points": 20}
    )
    assert api.put("/program", program).status_code == 200
    r = api.post("/events", event_payload(email="Later@example.se"), scope="web")
    assert r.status_code == 201
    assert r.json()["member_id"] is None
    m = _member(api, email="later@example.se")
    assert _points(api, m)["pending"] == 20


def test_returns_by_sku_over_repeated_lines(api: Api) -> None:
    m = _member(api)
    order = purchase_payload(member_id=m, lines=[line("A"), line("A")])
    api.post("/purchases", order, scope="web")
    r = api.post(
        "/returns",
        return_payload(order["order_id"], lines=[{"sku": "A"}, {"sku": "A"}]),
        scope="web",
    )
    assert r.status_code == 201, r.text
    assert r.json()["points_clawed_back"] == 200
    more = api.post(
        "/returns", return_payload(order["order_id"], lines=[{"sku": "A"}]), scope="web"
    )
    assert more.status_code == 422
    assert more.json()["field"] == "lines[0]"
    unknown = api.post(
        "/returns", return_payload(order["order_id"], lines=[{"line_no": 9}]), scope="web"
    )
    assert unknown.status_code == 422


def test_every_post_replays_with_its_idempotency_key(api: Api) -> None:
    a, b = _member(api), _member(api)
    order = purchase_payload(member_id=a, lines=[line("A", quantity=2)])
    api.post("/purchases", order, scope="web")
    calls: list[tuple[str, dict[str, Any], str]] = [
        ("/returns", return_payload(order["order_id"], lines=[{"line_no": 1}]), "web"),
        ("/events", event_payload(member_id=a), "web"),
        (f"/members/{a}/consents", {"channel": "sms", "granted": True}, "web"),
        (f"/members/{a}/points/adjust", {"points": 10, "reason": "x"}, "admin"),
        (f"/members/{a}/points/spend", {"points": 5}, "web"),
        (f"/members/{a}/merge", {"from_member_id": b}, "admin"),
        (f"/members/{a}/close", {}, "admin"),
    ]
    for i, (path, body, scope) in enumerate(calls):
        first = api.post(path, body, scope=scope, idempotency_key=f"every-{i}")
        assert first.status_code in (200, 201), (path, first.text)
        replay = api.post(path, body, scope=scope, idempotency_key=f"every-{i}")
        assert replay.status_code == first.status_code, path
        assert replay.headers.get("Idempotent-Replayed") == "true", path
        assert replay.json() == first.json(), path
    points = _points(api, a)
    assert points["lifetime_spent"] == 5
    assert points["lifetime_expired"] == 100 + 10 - 5
    assert points["available"] == points["pending"] == 0


def test_attributes_that_cannot_be_stored_are_refused_not_a_500(api: Api) -> None:
    m = _member(api)
    body = purchase_payload(member_id=m, attributes={"campaign": {"ids": [2**70]}})
    r = api.post("/purchases", body, scope="web")
    assert r.status_code == 422, r.text
    assert "attributes" in _fields(r)


def test_purchases_credited_at_enrolment_get_what_live_purchases_get(api: Api) -> None:
    """The same purchases sent for a member, or sent for an e-mail before its owner enrols:
    once they have enrolled, the same points on each purchase, the same entries, the same
    cap used and the same first-purchase bonus."""
    program = api.get("/program").json()["config"]
    program["rules"] += [
        {"id": "welcome", "kind": "first_purchase", "points": 100},
        {
            "id": "big",
            "kind": "bonus",
            "points": 40,
            "when": {"field": "purchase.total_minor", "op": "gte", "value": 20_000},
            "cap": {"points": 60, "period": "month"},
        },
    ]
    assert api.put("/program", program).status_code == 200
    baskets = [
        ("2026-02-27T10:00:00Z", [line("A", quantity=2, unit_price_minor=12_000)]),
        ("2026-02-28T10:00:00Z", [line("B", unit_price_minor=25_000), line("C")]),
        ("2026-03-01T10:00:00Z", [line("A", unit_price_minor=30_000)]),
    ]

    def send(n: int, **who: Any) -> dict[str, Any]:
        at, lines = baskets[n]
        r = api.post(
            "/purchases", purchase_payload(occurred_at=at, lines=lines, **who), scope="web"
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    live = _member(api)
    live_points = [send(n, member_id=live)["points"] for n in range(len(baskets))]
    email = f"{unique('later')}@example.se"
    waiting = [send(n, email=email) for n in range(len(baskets))]
    assert [p["member_id"] for p in waiting] == [None] * len(baskets)
    assert [p["points"] for p in waiting] == [0] * len(baskets)
    later = api.post("/members", {"email": email}, scope="web").json()["id"]

    def ledger(member_id: int) -> list[tuple[Any, ...]]:
        r = api.get(f"/members/{member_id}/ledger", scope="web")
        assert r.status_code == 200, r.text
        return sorted(
            (e["kind"], e["points"], e["explanation"], e["effective_at"])
            for e in r.json()["entries"]
        )

    def purchase_points(order_id: str) -> int:
        r = api.post(
            "/purchases",
            purchase_payload(order_id, email=email, lines=[line()]),
            scope="web",
        )
        assert r.status_code == 200, r.text  # a replay: the purchase as recorded
        points: int = r.json()["points"]
        return points

    assert [purchase_points(p["order_id"]) for p in waiting] == live_points
    assert live_points[0] > 100  # the first purchase's bonus
    assert ledger(later) == ledger(live)
    mine, theirs = _points(api, later), _points(api, live)
    for figure in ("pending", "available", "lifetime_earned"):
        assert mine[figure] == theirs[figure]
