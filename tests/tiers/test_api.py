"""A member's tier through the API: the levels, progress to the next tier and what keeps the
current one, the history, and staff decisions."""

from __future__ import annotations

from typing import Any

import pytest

from lojal.tiers import qualification as q
from tests.conftest import START, Api
from tests.factories import purchase_payload, unique
from tests.tiers.club import GOLD, SILVER, amount, tiers


@pytest.fixture
def tiered(api: Api) -> Api:
    program = api.get("/program").json()["config"]
    assert api.put("/program", {**program, "tiers": tiers()}).status_code == 200
    return api


def member(api: Api, spent: int = 0) -> int:
    member_id: int = api.post("/members", {"email": f"{unique('tiered')}@example.se"}).json()["id"]
    if spent:
        r = api.post("/purchases", purchase_payload(member_id=member_id, lines=[amount(spent)]))
        assert r.status_code == 201, r.text
    return member_id


def test_the_levels_are_shown_with_their_perks(tiered: Api) -> None:
    body = tiered.get("/tiers", scope="web").json()
    assert (body["basis"], body["unit"], body["period"]) == ("spend", "SEK", "rolling_12_months")
    assert [(t["code"], t["threshold"]) for t in body["levels"]] == [
        ("bronze", 0),
        ("silver", SILVER),
        ("gold", GOLD),
    ]
    assert body["levels"][2]["perks"] == ["Free delivery", "Early access to sales"]
    assert body["levels"][2]["multiplier"] == "1.5"


def test_progress_shows_the_next_tier_and_what_is_left(tiered: Api) -> None:
    m = member(tiered, 40_000)
    body = tiered.get(f"/members/{m}/tier", scope="web").json()
    assert body["tier"]["code"] == "bronze"
    assert body["tier"]["perks"] == ["Member prices"]
    assert body["total"] == 40_000
    assert body["next"]["tier"]["code"] == "silver"
    assert body["next"]["remaining"] == SILVER - 40_000
    assert body["keep"] is None  # Bronze is everyone's: nothing to keep


def test_progress_shows_what_keeps_the_tier_and_by_when(tiered: Api) -> None:
    m = member(tiered, SILVER + 50_000)
    body = tiered.get(f"/members/{m}/tier", scope="web").json()
    assert body["tier"]["code"] == body["qualified_tier"]["code"] == "silver"
    assert body["next"] == {"tier": body["next"]["tier"], "remaining": GOLD - SILVER - 50_000}
    keep = body["keep"]
    assert keep["tier"]["code"] == "silver"
    review_at = q.add_months(START, 12, "Europe/Stockholm")
    assert keep["review_at"].startswith(review_at.isoformat()[:19])
    assert keep["remaining"] == SILVER  # what the new tier period must earn
    assert keep["in_grace"] is False
    top = member(tiered, GOLD)
    assert tiered.get(f"/members/{top}/tier", scope="web").json()["next"] is None


def test_the_history_lists_every_change_newest_first(tiered: Api) -> None:
    m = member(tiered, SILVER)
    tiered.post("/purchases", purchase_payload(member_id=m, lines=[amount(GOLD)]))
    body = tiered.get(f"/members/{m}/tier/history?limit=2", scope="web").json()
    assert [(c["from_tier"], c["to_tier"], c["reason"]) for c in body["changes"]] == [
        ("silver", "gold", "qualified"),
        ("bronze", "silver", "qualified"),
    ]
    assert body["next_before"] == body["changes"][-1]["id"]
    rest = tiered.get(f"/members/{m}/tier/history?before={body['next_before']}").json()
    assert [c["reason"] for c in rest["changes"]] == ["joined"]
    assert rest["next_before"] is None


def test_staff_can_put_a_member_in_a_tier_with_a_reason(tiered: Api) -> None:
    m = member(tiered)
    r = tiered.post(f"/members/{m}/tier", {"tier": "gold", "reason": "status match from Café X"})
    assert r.status_code == 200, r.text
    assert r.json()["tier"]["code"] == "gold"
    assert r.json()["keep"]["review_at"].startswith(
        q.add_months(START, 12, "Europe/Stockholm").isoformat()[:19]
    )
    [change, _] = tiered.get(f"/members/{m}/tier/history").json()["changes"]
    assert (change["to_tier"], change["reason"]) == ("gold", "manual")
    assert change["detail"] == {"note": "status match from Café X", "actor": "test-admin"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tier": "platinum", "reason": "x"}, "tier"),
        ({"tier": "gold", "reason": ""}, "reason"),
        ({"tier": "gold"}, "reason"),
        ({"tier": "gold", "reason": "x", "until": "2020-01-01T00:00:00Z"}, "until"),
    ],
)
def test_a_bad_staff_decision_is_refused_naming_the_field(
    tiered: Api, body: dict[str, Any], field: str
) -> None:
    m = member(tiered)
    r = tiered.post(f"/members/{m}/tier", body)
    assert r.status_code == 422, r.text
    fields = [r.json().get("field")] + [e["field"] for e in r.json().get("errors", [])]
    assert field in fields


def test_only_admin_keys_decide_a_tier(tiered: Api) -> None:
    m = member(tiered)
    r = tiered.post(f"/members/{m}/tier", {"tier": "gold", "reason": "x"}, scope="web")
    assert r.status_code == 403


def test_a_club_without_tiers_says_so(api: Api) -> None:
    m = member(api)
    for path in ("/tiers", f"/members/{m}/tier"):
        r = api.get(path, scope="web")
        assert r.status_code == 409
        assert r.json()["error"] == "TiersNotConfigured"


def test_an_unknown_member_has_no_tier(tiered: Api) -> None:
    r = tiered.get("/members/999999/tier")
    assert r.status_code == 404
    assert r.json()["error"] == "MemberNotFound"
