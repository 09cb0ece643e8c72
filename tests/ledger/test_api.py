"""Points through the HTTP API: balances, spending, adjustments, idempotency and scopes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.jobs.service import run_due
from tests.conftest import Api
from tests.factories import member_payload, purchase_payload


def _member(api: Api) -> int:
    r = api.post("/members", member_payload(), scope="web")
    assert r.status_code == 201, r.text
    member_id: int = r.json()["id"]
    return member_id


def _points(api: Api, member_id: int) -> dict[str, Any]:
    r = api.get(f"/members/{member_id}/points", scope="web")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _grant(api: Api, member_id: int, points: int) -> None:
    r = api.post(f"/members/{member_id}/points/adjust", {"points": points, "reason": "test"})
    assert r.status_code == 200, r.text


def test_points_show_pending_then_available_after_the_jobs(
    api: Api,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    m = _member(api)
    api.post("/purchases", purchase_payload(member_id=m), scope="web")
    points = _points(api, m)
    assert (points["pending"], points["available"], points["lifetime_earned"]) == (100, 0, 100)
    assert points["point_name"] == "points"
    clock.advance(timedelta(days=14))
    run_due(session_factory, clock=clock)
    points = _points(api, m)
    assert (points["pending"], points["available"]) == (0, 100)
    assert [lot["state"] for lot in points["lots"]] == ["available"]
    assert points["lots"][0]["expires_at"].startswith("2027-03-02T09:00")
    ledger_page = api.get(f"/members/{m}/ledger", scope="web").json()
    assert [e["kind"] for e in ledger_page["entries"]] == ["activate", "earn"]


def test_spend_refuses_to_go_negative(api: Api) -> None:
    m = _member(api)
    _grant(api, m, 30)
    r = api.post(f"/members/{m}/points/spend", {"points": 31}, scope="web")
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "InsufficientPoints"
    assert _points(api, m)["available"] == 30
    ok = api.post(f"/members/{m}/points/spend", {"points": 30, "reason": "coffee"}, scope="web")
    assert ok.status_code == 200, ok.text
    assert ok.json()["available"] == 0
    assert ok.json()["lifetime_spent"] == 30


def test_spend_with_the_same_reference_spends_once(api: Api) -> None:
    m = _member(api)
    _grant(api, m, 100)
    body = {"points": 40, "reference": "receipt-9"}
    first = api.post(f"/members/{m}/points/spend", body, scope="web")
    second = api.post(f"/members/{m}/points/spend", body, scope="web")
    assert first.status_code == second.status_code == 200
    assert second.json()["available"] == 60
    assert _points(api, m)["lifetime_spent"] == 40


def test_spend_replayed_with_its_idempotency_key(api: Api) -> None:
    m = _member(api)
    _grant(api, m, 100)
    first = api.post(
        f"/members/{m}/points/spend", {"points": 10}, scope="web", idempotency_key="spend-1"
    )
    replay = api.post(
        f"/members/{m}/points/spend", {"points": 10}, scope="web", idempotency_key="spend-1"
    )
    assert replay.status_code == 200
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == first.json()
    assert _points(api, m)["available"] == 90
    reused = api.post(
        f"/members/{m}/points/spend", {"points": 20}, scope="web", idempotency_key="spend-1"
    )
    assert reused.status_code == 422
    assert reused.json()["error"] == "IdempotencyKeyReused"
    assert _points(api, m)["available"] == 90
    adj = api.post(
        f"/members/{m}/points/adjust", {"points": 5, "reason": "x"}, idempotency_key="adj-1"
    )
    adj2 = api.post(
        f"/members/{m}/points/adjust", {"points": 5, "reason": "x"}, idempotency_key="adj-1"
    )
    assert adj2.headers.get("Idempotent-Replayed") == "true"
    assert adj.json() == adj2.json()
    assert _points(api, m)["available"] == 95


def test_adjustments_need_a_reason_and_cannot_go_negative(api: Api) -> None:
    m = _member(api)
    missing = api.post(f"/members/{m}/points/adjust", {"points": 10})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "reason"
    blank = api.post(f"/members/{m}/points/adjust", {"points": 10, "reason": "   "})
    assert blank.status_code == 422
    assert blank.json()["field"] == "reason"
    _grant(api, m, 10)
    neg = api.post(f"/members/{m}/points/adjust", {"points": -11, "reason": "oops"})
    assert neg.status_code == 409
    assert neg.json()["error"] == "InsufficientPoints"
    assert _points(api, m)["available"] == 10


def test_scopes_and_keys(api: Api) -> None:
    m = _member(api)
    r = api.post(f"/members/{m}/points/adjust", {"points": 5, "reason": "x"}, scope="web")
    assert r.status_code == 403
    program = api.get("/program").json()["config"]
    assert api.put("/program", program, scope="web").status_code == 403
    assert api.put("/program", program, scope="integration").status_code == 403
    assert api.client.get(f"/api/v1/members/{m}/points").status_code == 401
    bad = api.client.get(f"/api/v1/members/{m}/points", headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401
    assert _points(api, m)["available"] == 0


def test_bad_spend_payloads_are_422(api: Api) -> None:
    m = _member(api)
    for body, field in (
        ({"points": 0}, "points"),
        ({"points": -5}, "points"),
        ({}, "points"),
        ({"points": 1, "extra": 1}, "extra"),
    ):
        r = api.post(f"/members/{m}/points/spend", body, scope="web")
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field
    assert api.get("/members/424242/points", scope="web").status_code == 404
    assert api.post("/members/424242/points/spend", {"points": 1}, scope="web").status_code == 404


def test_points_of_a_merged_member_show_the_survivor(api: Api) -> None:
    a, b = _member(api), _member(api)
    _grant(api, a, 10)
    _grant(api, b, 20)
    assert api.post(f"/members/{a}/merge", {"from_member_id": b}).status_code == 200
    assert _points(api, b)["member_id"] == a
    assert _points(api, a)["available"] == 30
    spend = api.post(f"/members/{b}/points/spend", {"points": 30}, scope="web")
    assert spend.status_code == 200, spend.text
    assert spend.json()["member_id"] == a
    assert spend.json()["available"] == 0
