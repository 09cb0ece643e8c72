"""How far back and forward a till, a web shop, an app or an admin may date activity, and when
the points of a late purchase become spendable (``lojal.activities.dating``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lojal.activities.dating import pending_starts, refusal
from lojal.clock import FixedClock
from tests.conftest import START, Api
from tests.factories import event_payload, purchase_payload, return_payload, unique

DAY = timedelta(days=1)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _member(api: Api) -> int:
    r = api.post("/members", {"email": f"{unique('m')}@example.se"}, scope="web")
    assert r.status_code == 201, r.text
    member_id: int = r.json()["id"]
    return member_id


def _points(api: Api, member_id: int) -> dict[str, Any]:
    r = api.get(f"/members/{member_id}/points")
    assert r.status_code == 200, r.text
    points: dict[str, Any] = r.json()
    return points


def _refused_field(response: Any) -> str | None:
    body = response.json()
    if body.get("field"):
        field: str = body["field"]
        return field
    fields = [e["field"] for e in body.get("errors", [])]
    return fields[0] if fields else None


# ------------------------------------------------------------------ the rule itself


def test_a_channel_may_date_back_a_few_days_and_no_more() -> None:
    now = START
    assert refusal(now - 2 * DAY, now=now, trusted=False, max_backdate_days=3) is None
    assert refusal(now - 3 * DAY, now=now, trusted=False, max_backdate_days=3) is None
    refused = refusal(now - 20 * DAY, now=now, trusted=False, max_backdate_days=3)
    assert refused is not None
    assert "at most 3 days back" in refused
    assert "20 days ago" in refused
    assert "admin import" in refused
    assert refusal(now, now=now, trusted=False, max_backdate_days=0) is None
    assert refusal(now - timedelta(hours=1), now=now, trusted=False, max_backdate_days=0)


def test_nobody_may_date_beyond_five_minutes_ahead() -> None:
    for trusted in (False, True):
        assert (
            refusal(START + timedelta(minutes=4), now=START, trusted=trusted, max_backdate_days=3)
            is None
        )
        ahead = refusal(
            START + timedelta(minutes=6), now=START, trusted=trusted, max_backdate_days=3
        )
        assert ahead is not None
        assert "5 minutes ahead" in ahead
        far = refusal(
            datetime(2200, 1, 1, tzinfo=UTC), now=START, trusted=trusted, max_backdate_days=3
        )
        assert far is not None
        assert "2200-01-01" in far


def test_history_may_go_back_to_1900() -> None:
    five_years = START - 5 * 365 * DAY
    assert refusal(five_years, now=START, trusted=True, max_backdate_days=3) is None
    assert (
        refusal(datetime(1900, 1, 1, tzinfo=UTC), now=START, trusted=True, max_backdate_days=3)
        is None
    )
    assert refusal(datetime(1899, 12, 31, tzinfo=UTC), now=START, trusted=True, max_backdate_days=3)


def test_a_late_purchase_waits_from_when_lojal_learned_of_it() -> None:
    late = START - 2 * DAY
    assert pending_starts(late, recorded_at=START, trusted=False) == START
    assert pending_starts(late, recorded_at=START, trusted=True) == late
    # a clock a minute ahead: the pending period starts at the purchase's own time
    ahead = START + timedelta(minutes=1)
    assert pending_starts(ahead, recorded_at=START, trusted=False) == ahead


# ------------------------------------------------------------------ through the API


@pytest.mark.parametrize("scope", ["web", "integration"])
def test_a_till_purchase_twenty_days_back_is_refused(api: Api, scope: str) -> None:
    m = _member(api)
    body = purchase_payload(member_id=m, occurred_at=iso(START - 20 * DAY))
    r = api.post("/purchases", body, scope=scope)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "DateRefused"
    assert r.json()["field"] == "occurred_at"
    assert "at most 3 days back" in r.json()["detail"]
    assert "admin import" in r.json()["detail"]
    # nothing was written: no points, and the order id is still free
    assert _points(api, m)["lifetime_earned"] == 0
    now = api.post("/purchases", {**body, "occurred_at": None}, scope=scope)
    assert now.status_code == 201, now.text


def test_a_till_purchase_two_days_back_waits_the_pending_period_from_now(api: Api) -> None:
    m = _member(api)
    occurred = START - 2 * DAY
    r = api.post(
        "/purchases", purchase_payload(member_id=m, occurred_at=iso(occurred)), scope="web"
    )
    assert r.status_code == 201, r.text
    assert r.json()["occurred_at"].startswith("2026-02-28T09:00")
    points = _points(api, m)
    assert points["pending"] == 100
    assert points["available"] == 0
    [lot] = points["lots"]
    assert lot["state"] == "pending"
    assert lot["earned_at"].startswith("2026-02-28T09:00")
    # recorded at START (2 March 09:00) + 14 pending days, not 28 February + 14
    assert lot["available_at"].startswith("2026-03-16T09:00")


def test_an_admin_may_send_history_five_years_back(api: Api) -> None:
    m = _member(api)
    old = START - 5 * 365 * DAY
    r = api.post("/purchases", purchase_payload(member_id=m, occurred_at=iso(old)))
    assert r.status_code == 201, r.text
    # its points expired 12 months after it, long ago: nothing of it is open now
    assert _points(api, m)["lots"] == []
    recent = START - 200 * DAY
    r = api.post("/purchases", purchase_payload(member_id=m, occurred_at=iso(recent)))
    assert r.status_code == 201, r.text
    [lot] = _points(api, m)["lots"]
    # history keeps its own dates: its pending period ended long ago
    assert lot["available_at"].startswith(iso(recent + 14 * DAY)[:16])
    assert lot["state"] == "available"


@pytest.mark.parametrize("scope", ["web", "admin"])
@pytest.mark.parametrize("when", ["2200-01-01T00:00:00Z", "9990-06-01T12:00:00Z"])
def test_purchases_dated_far_ahead_are_refused(api: Api, scope: str, when: str) -> None:
    m = _member(api)
    r = api.post("/purchases", purchase_payload(member_id=m, occurred_at=when), scope=scope)
    assert r.status_code == 422, r.text
    assert _refused_field(r) == "occurred_at"
    assert _points(api, m)["lifetime_earned"] == 0


def test_returns_and_events_follow_the_same_rule(api: Api) -> None:
    program = api.get("/program").json()["config"]
    program["rules"].append(
        {"id": "review", "kind": "event", "event_type": "review_written", "points": 20}
    )
    assert api.put("/program", program).status_code == 200
    m = _member(api)
    order = api.post("/purchases", purchase_payload(member_id=m), scope="web").json()
    old = iso(START - 20 * DAY)
    r = api.post("/returns", return_payload(order["order_id"], occurred_at=old), scope="web")
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "occurred_at"
    assert "a return" in r.json()["detail"]
    e = api.post("/events", event_payload(member_id=m, occurred_at=old), scope="web")
    assert e.status_code == 422, e.text
    assert e.json()["field"] == "occurred_at"
    ahead = iso(START + DAY)
    assert api.post("/events", event_payload(member_id=m, occurred_at=ahead)).status_code == 422
    # an event two days back: its points too wait from now
    late = api.post(
        "/events", event_payload(member_id=m, occurred_at=iso(START - 2 * DAY)), scope="web"
    )
    assert late.status_code == 201, late.text
    event_lot = next(lot for lot in _points(api, m)["lots"] if lot["points"] == 20)
    assert event_lot["available_at"].startswith("2026-03-16T09:00")
    # and an admin may date a return of history
    r = api.post("/returns", return_payload(order["order_id"], occurred_at=iso(START - DAY)))
    assert r.status_code == 201, r.text


def test_the_club_sets_how_many_days_back(api: Api) -> None:
    program = api.get("/program").json()["config"]
    assert program["max_backdate_days"] == 3
    m = _member(api)
    twenty = iso(START - 20 * DAY)
    assert api.put("/program", {**program, "max_backdate_days": 30}).status_code == 200
    r = api.post("/purchases", purchase_payload(member_id=m, occurred_at=twenty), scope="web")
    assert r.status_code == 201, r.text
    assert api.put("/program", {**program, "max_backdate_days": 0}).status_code == 200
    hour = iso(START - timedelta(hours=1))
    r = api.post("/purchases", purchase_payload(member_id=m, occurred_at=hour), scope="web")
    assert r.status_code == 422, r.text
    assert "at most 0 days back" in r.json()["detail"]
    bad = api.put("/program", {**program, "max_backdate_days": 366})
    assert bad.status_code == 422
    assert "max_backdate_days" in bad.text


def test_a_retry_after_the_window_answers_with_the_first_recording(
    api: Api, clock: FixedClock
) -> None:
    m = _member(api)
    body = purchase_payload(member_id=m, occurred_at=iso(START - 2 * DAY))
    first = api.post("/purchases", body, scope="web")
    assert first.status_code == 201, first.text
    clock.advance(5 * DAY)
    again = api.post("/purchases", body, scope="web")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
