"""Challenges and badges through the HTTP API: the marketer's admin calls, errors that name the
field, and what a member's profile shows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import START, Api
from tests.factories import event_payload, line, purchase_payload

SURVEY: dict[str, Any] = {
    "code": "spring-survey",
    "name": "Answer the spring survey",
    "activity": "event",
    "event_type": "survey_answered",
    "goal": {"kind": "count", "target": 1},
    "ends_at": "2026-06-01",
    "reward": {"points": 50},
}
EXPLORER: dict[str, Any] = {
    "code": "explorer",
    "name": "Buy from 3 categories this month",
    "description": "Coffee, tea, bakery: try them all.",
    "goal": {"kind": "distinct", "field": "line.category", "target": 3},
    "window": {"kind": "calendar", "period": "month"},
    "reward": {"points": 200, "badge": "explorer"},
}


def _member(api: Api) -> int:
    r = api.post("/members", {"email": f"m{id(api)}-{len(api.keys)}@example.se"}, scope="web")
    assert r.status_code == 201, r.text
    member_id: int = r.json()["id"]
    return member_id


def _setup(api: Api) -> None:
    r = api.post(
        "/badges",
        {"code": "explorer", "name": "Explorer", "image_url": "https://cdn.example.se/e.png"},
    )
    assert r.status_code == 201, r.text
    for body in (SURVEY, EXPLORER):
        r = api.post("/challenges", body)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "draft"
        r = api.post(f"/challenges/{body['code']}/activate")
        assert r.status_code == 200, r.text


def test_a_member_sees_progress_rewards_and_badges(api: Api) -> None:
    _setup(api)
    m = _member(api)
    shown = api.get(f"/members/{m}/challenges", scope="web").json()
    assert shown["member_id"] == m
    by_code = {c["code"]: c for c in shown["challenges"]}
    assert by_code["explorer"]["status"] == "not_started"
    # this month, in the club's time zone, from when the challenge started
    assert by_code["explorer"]["window_start"] == "2026-03-02T09:00:00Z"
    assert by_code["explorer"]["window_end"] == "2026-03-31T22:00:00Z"
    assert by_code["spring-survey"]["reward"] == {"points": 50, "badge": None, "coupon": None}

    categories = [["coffee", "tea"], ["tea"], ["bakery"]]
    for cats in categories[:2]:
        body = purchase_payload(member_id=m, lines=[line(f"S-{c}", category=c) for c in cats])
        assert api.post("/purchases", body, scope="web").status_code == 201
    explorer = next(
        c
        for c in api.get(f"/members/{m}/challenges").json()["challenges"]
        if c["code"] == "explorer"
    )
    assert (explorer["status"], explorer["progress"], explorer["target"]) == ("in_progress", 2, 3)
    assert explorer["values"] == ["coffee", "tea"]
    body = purchase_payload(member_id=m, lines=[line("S-b", category="bakery")])
    assert api.post("/purchases", body, scope="web").status_code == 201
    assert (
        api.post("/events", event_payload("survey_answered", member_id=m), scope="web").status_code
        == 201
    )

    shown = {c["code"]: c for c in api.get(f"/members/{m}/challenges").json()["challenges"]}
    assert shown["explorer"]["status"] == "completed"
    assert shown["explorer"]["rewarded"] is True
    assert shown["spring-survey"]["completions"] == 1
    [badge] = api.get(f"/members/{m}/badges", scope="web").json()["badges"]
    assert (badge["code"], badge["name"], badge["times"]) == ("explorer", "Explorer", 1)
    assert badge["image_url"] == "https://cdn.example.se/e.png"
    points = api.get(f"/members/{m}/points", scope="web").json()
    # 4 lines at 100 SEK, then 200 + 50 for the challenges
    assert points["lifetime_earned"] == 400 + 250
    ledger = api.get(f"/members/{m}/ledger", scope="web").json()["entries"]
    texts = [e["explanation"] for e in ledger if e["key"].startswith("challenge:")]
    assert sorted(texts) == [
        "+200 points: challenge 'Buy from 3 categories this month' completed",
        "+50 points: challenge 'Answer the spring survey' completed",
    ]

    stats = api.get("/challenges/explorer/stats").json()
    assert stats == {
        "code": "explorer",
        "participants": 1,
        "in_progress": 0,
        "members_completed": 1,
        "completions": 1,
        "points_awarded": 200,
    }


def test_the_marketer_defines_changes_and_ends_challenges(api: Api) -> None:
    _setup(api)
    listed = api.get("/challenges", params={"status": "active"}).json()
    assert [c["code"] for c in listed] == ["spring-survey", "explorer"]
    got = api.get("/challenges/explorer").json()
    assert got["runs_from"].startswith(START.isoformat()[:16])
    assert got["revision"] == 2

    # presentation, end and reward may change while it runs ...
    changed = {**EXPLORER, "name": "Three categories", "reward": {"points": 300}}
    r = api.put("/challenges/explorer", changed)
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["revision"]) == ("Three categories", 3)
    # ... what it counts may not
    r = api.put("/challenges/explorer", {**changed, "goal": {**EXPLORER["goal"], "target": 2}})
    assert r.status_code == 409, r.text
    assert (r.json()["error"], r.json()["field"]) == ("ChallengeLocked", "goal")
    r = api.put("/challenges/other", changed)
    assert (r.status_code, r.json()["field"]) == (422, "code")
    # PUT creates a challenge that does not exist yet
    r = api.put("/challenges/new-one", {**changed, "code": "new-one"})
    assert (r.status_code, r.json()["status"]) == (201, "draft")

    r = api.post("/challenges/explorer/end")
    assert (r.status_code, r.json()["status"]) == (200, "ended")
    assert api.post("/challenges/explorer/end").status_code == 200  # ending twice: harmless
    r = api.put("/challenges/explorer", changed)
    assert (r.status_code, r.json()["error"]) == (409, "ChallengeEnded")
    r = api.post("/challenges/explorer/activate")
    assert (r.status_code, r.json()["error"]) == (409, "ChallengeEnded")
    m = _member(api)
    codes = [c["code"] for c in api.get(f"/members/{m}/challenges").json()["challenges"]]
    assert codes == ["spring-survey"]


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        (
            {"when": {"field": "line.colour", "op": "eq", "value": "red"}},
            "InvalidChallenge",
            "when",
        ),
        ({"goal": {"kind": "distinct", "target": 3}}, "ValidationError", "goal"),
        ({"goal": {"kind": "count", "target": 0}}, "ValidationError", "goal.target"),
        (
            {"goal": {"kind": "sum", "field": "line.sku", "target": 3}},
            "InvalidChallenge",
            "goal.field",
        ),
        ({"reward": {"badge": "no-such-badge"}}, "UnknownBadge", "reward.badge"),
        ({"reward": {"coupon": 999_999}}, "UnknownCampaign", "reward.coupon"),
        ({"reward": {}}, "ValidationError", "reward"),
        ({"activity": "event"}, "InvalidChallenge", "event_type"),
        ({"event_type": "survey_answered"}, "InvalidChallenge", "event_type"),
        ({"window": {"kind": "calendar"}}, "ValidationError", "window"),
        ({"starts_at": "2026-05-01", "ends_at": "2026-04-01"}, "InvalidChallenge", "ends_at"),
        ({"starts_at": "9999-01-01"}, "ValidationError", "starts_at"),
        ({"max_completions": 3}, "InvalidChallenge", "max_completions"),
        ({"tiers": []}, "ValidationError", "tiers"),
        (
            {
                "goal": {"kind": "streak", "period": "week", "target": 4},
                "window": {"kind": "rolling", "days": 30},
            },
            "InvalidChallenge",
            "window.kind",
        ),
        (
            {
                "goal": {"kind": "streak", "period": "month", "target": 2},
                "window": {"kind": "calendar", "period": "month"},
            },
            "InvalidChallenge",
            "goal.period",
        ),
    ],
)
def test_a_wrong_definition_is_refused_naming_the_field(
    api: Api, change: dict[str, Any], error: str, field: str
) -> None:
    r = api.post("/challenges", {**EXPLORER, **change})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == error
    fields = [body.get("field")] + [e["field"] for e in body.get("errors", [])]
    assert any(f is not None and f.startswith(field) for f in fields), body


def test_a_field_that_does_not_exist_is_named_with_the_fields_there_are(api: Api) -> None:
    typo = {"when": {"field": "line.categroy", "op": "eq", "value": "coffee"}}
    r = api.post("/challenges", {**EXPLORER, **typo})
    body = r.json()
    assert (r.status_code, body["error"], body["field"]) == (422, "InvalidChallenge", "when")
    assert r.json()["detail"].startswith(
        "a purchase challenge: unknown field 'line.categroy'; fields: line.sku, line.category,"
    )
    assert r.json()["detail"].endswith("member.attributes.<key>")
    event = {"activity": "event", "event_type": "survey_answered"}
    goal = {"goal": {"kind": "sum", "field": "line.total_minor", "target": 3}}
    r = api.post("/challenges", {**EXPLORER, **event, **goal})
    assert (r.status_code, r.json()["field"]) == (422, "goal.field")
    assert "unknown field 'line.total_minor'; fields: event.type," in r.json()["detail"]


def test_codes_are_unique_and_only_admins_define(api: Api) -> None:
    _setup(api)
    r = api.post("/challenges", EXPLORER)
    assert (r.status_code, r.json()["error"], r.json()["field"]) == (
        409,
        "ChallengeCodeTaken",
        "code",
    )
    r = api.post("/badges", {"code": "explorer", "name": "Again"})
    assert (r.status_code, r.json()["error"]) == (409, "BadgeCodeTaken")
    assert api.post("/challenges", {**EXPLORER, "code": "x"}, scope="web").status_code == 403
    assert api.get("/challenges", scope="web").status_code == 403
    assert api.get("/challenges/nope").status_code == 404
    assert api.post("/challenges/nope/activate").json()["error"] == "ChallengeNotFound"


def test_an_idempotency_key_creates_once(api: Api) -> None:
    body = {**SURVEY, "code": "once-only"}
    first = api.post("/challenges", body, idempotency_key="c-1")
    again = api.post("/challenges", body, idempotency_key="c-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == again.json()


def test_staff_grant_and_revoke_badges(api: Api) -> None:
    assert (
        api.post(
            "/badges", {"code": "vip", "name": "VIP", "description": "Inner circle"}
        ).status_code
        == 201
    )
    r = api.patch("/badges/vip", {"image_url": "https://cdn.example.se/vip.png"})
    assert (r.status_code, r.json()["image_url"]) == (200, "https://cdn.example.se/vip.png")
    assert api.patch("/badges/vip", {"image_url": "javascript:alert(1)"}).status_code == 422
    m = _member(api)
    r = api.post(f"/members/{m}/badges", {"badge": "vip"})
    assert r.status_code == 200, r.text
    [held] = r.json()["badges"]
    assert (held["code"], held["times"], held["source"]) == ("vip", 1, "staff:test-admin")
    again = api.post(f"/members/{m}/badges", {"badge": "vip"})
    assert again.json()["badges"][0]["times"] == 1  # a grant of a badge held changes nothing
    assert api.post(f"/members/{m}/badges", {"badge": "vip"}, scope="web").status_code == 403
    r = api.post(f"/members/{m}/badges", {"badge": "nope"})
    assert (r.status_code, r.json()["error"]) == (404, "BadgeNotFound")
    r = api.client.delete(f"/api/v1/members/{m}/badges/vip", headers=api.headers())
    assert (r.status_code, r.json()["badges"]) == (200, [])
    r = api.client.delete(f"/api/v1/members/{m}/badges/vip", headers=api.headers())
    assert (r.status_code, r.json()["error"]) == (404, "BadgeNotHeld")
    assert [b["code"] for b in api.get("/badges").json()] == ["vip"]
    assert api.get("/members/987654/badges").status_code == 404
    assert api.get("/members/987654/challenges").status_code == 404


def test_a_challenge_can_reward_a_coupon_of_a_campaign(api: Api) -> None:
    r = api.post(
        "/coupon-campaigns",
        {"name": "Survey thanks", "discount_kind": "amount", "amount_minor": 2_000},
    )
    assert r.status_code == 201, r.text
    campaign_id = r.json()["id"]
    survey = {**SURVEY, "code": "survey-coupon", "reward": {"coupon": campaign_id}}
    assert api.post("/challenges", survey).status_code == 201
    assert api.post("/challenges/survey-coupon/activate").status_code == 200
    m = _member(api)
    body = event_payload("survey_answered", member_id=m)
    assert api.post("/events", body, scope="web").status_code == 201
    assert api.post("/events", body, scope="web").status_code in (200, 201)  # a replay
    [coupon] = api.get(f"/members/{m}/coupons", scope="web").json()
    assert (coupon["campaign_id"], coupon["member_id"]) == (campaign_id, m)
    check = {"code": coupon["code"], "member_id": m, "basket": {"total_minor": 10_000}}
    assert api.post("/coupons/validate", check, scope="web").json()["discount_minor"] == 2_000
