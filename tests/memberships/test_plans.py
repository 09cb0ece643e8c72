"""Membership plans through the admin API: create, list, change the price, retire; what a plan
gives must exist in the programme."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.tiers.club import tiers

GOLD_PLAN = {
    "code": "gold-annual",
    "name": "Gold membership",
    "price_minor": 49_900,
    "interval": "year",
    "tier": "gold",
}


@pytest.fixture
def tiered(api: Api) -> Api:
    program = api.get("/program").json()["config"]
    assert api.put("/program", {**program, "tiers": tiers()}).status_code == 200
    return api


def test_a_plan_is_created_listed_repriced_and_retired(tiered: Api) -> None:
    r = tiered.post("/membership-plans", GOLD_PLAN)
    assert r.status_code == 201, r.text
    assert r.json() | {"created_at": None} == {
        **GOLD_PLAN,
        "description": None,
        "currency": "SEK",
        "status": "active",
        "created_at": None,
    }
    club = {"code": "club", "name": "Club", "price_minor": 9_900, "interval": "month"}
    assert tiered.post("/membership-plans", club).json()["tier"] is None
    listed = tiered.get("/membership-plans", scope="pos").json()
    assert [p["code"] for p in listed] == ["gold-annual", "club"]

    r = tiered.client.patch(
        "/api/v1/membership-plans/club",
        json={"price_minor": 11_900, "description": "Members' prices all year"},
        headers=tiered.headers(),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["price_minor"], r.json()["name"]) == (11_900, "Club")

    assert tiered.post("/membership-plans/club/retire").json()["status"] == "retired"
    assert tiered.post("/membership-plans/club/retire").status_code == 200  # again: the same
    assert [p["code"] for p in tiered.get("/membership-plans").json()] == ["gold-annual"]
    everything = tiered.get("/membership-plans?include_retired=true").json()
    assert [p["status"] for p in everything] == ["active", "retired"]
    assert tiered.get("/membership-plans/club", scope="pos").json()["status"] == "retired"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"tier": "platinum"}, 422, "tier"),
        ({"currency": "EUR"}, 422, "currency"),
        ({"interval": "week"}, 422, "interval"),
        ({"price_minor": -1}, 422, "price_minor"),
        ({"code": "Gold Annual"}, 422, "code"),
        ({"name": ""}, 422, "name"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(
    tiered: Api, change: dict[str, Any], status: int, field: str
) -> None:
    r = tiered.post("/membership-plans", {**GOLD_PLAN, **change})
    assert r.status_code == status, r.text
    fields = [r.json().get("field")] + [e["field"] for e in r.json().get("errors", [])]
    assert field in fields


def test_a_plan_code_is_used_once(tiered: Api) -> None:
    assert tiered.post("/membership-plans", GOLD_PLAN).status_code == 201
    again = tiered.post("/membership-plans", GOLD_PLAN)
    assert again.status_code == 409
    assert (again.json()["error"], again.json()["field"]) == ("PlanExists", "code")


def test_a_paid_tier_needs_tiers_in_the_programme(api: Api) -> None:
    r = api.post("/membership-plans", GOLD_PLAN)
    assert r.status_code == 422
    assert (r.json()["error"], r.json()["field"]) == ("UnknownTier", "tier")
    club = {**GOLD_PLAN, "tier": None}
    assert api.post("/membership-plans", club).status_code == 201


def test_plans_are_written_by_admin_keys_only(tiered: Api) -> None:
    assert tiered.post("/membership-plans", GOLD_PLAN, scope="pos").status_code == 403
    assert tiered.get("/membership-plans/nothing-here").status_code == 404
