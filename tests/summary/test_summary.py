"""The member's summary: one call with points (to spend, on the way, expiring, with dates),
tier and progress, active challenges, referral link and badges, said in the member's
language. The figures are the owning features' own (the summary decides nothing)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.coupons import queries as coupon_queries
from lojal.jobs.service import run_due
from tests.conftest import Api
from tests.factories import line, unique
from tests.tiers.club import GOLD, TIERS

REFERRALS = {
    "advocate_points": 500,
    "referee_points": 250,
    "min_spend_minor": 20_000,
    "link_base_url": "https://shop.example/join",
}


@pytest.fixture(autouse=True)
def _fresh_catalogue() -> None:
    # the test database's transactions roll back: campaign revisions repeat between tests
    coupon_queries.forget_catalogue()


@pytest.fixture
def club(api: Api) -> Api:
    program = api.get("/program").json()["config"]
    program.update(point_name="poäng", tiers=TIERS, referrals=REFERRALS)
    r = api.client.put("/api/v1/program", json=program, headers=api.headers())
    assert r.status_code == 200, r.text
    r = api.post("/badges", {"code": "founder", "name": "Grundare"})
    assert r.status_code == 201, r.text
    r = api.post(
        "/challenges",
        {
            "code": "three",
            "name": "Tre köp",
            "goal": {"kind": "count", "target": 3},
            "reward": {"points": 100},
        },
    )
    assert r.status_code == 201, r.text
    assert api.post("/challenges/three/activate").status_code == 200
    rewards = [
        {
            "code": "bulle",
            "name": "Kanelbulle",
            "kind": "product",
            "points_price": 300,
            "product_sku": "BULLE",
        },
        {"code": "resa", "name": "Resa", "kind": "experience", "points_price": 10**6, "stock": 2},
        {"code": "betala", "name": "Betala", "kind": "points_payment", "max_points": 400},
    ]
    for reward in rewards:
        r = api.post("/rewards", reward)
        assert r.status_code == 201, r.text
    return api


def enrol(api: Api, **kw: Any) -> int:
    body = {"email": f"{unique('m')}@example.se", "channel": "app", **kw}
    r = api.post("/members", body, scope="web")
    assert r.status_code == 201, r.text
    member_id: int = r.json()["id"]
    return member_id


def buy(api: Api, member_id: int, amount: int) -> None:
    body = {
        "order_id": unique("order"),
        "member_id": member_id,
        "channel": "store",
        "lines": [line(unit_price_minor=amount)],
    }
    r = api.post("/purchases", body, scope="web")
    assert r.status_code == 201, r.text


def summary(api: Api, member_id: int, **params: str) -> dict[str, Any]:
    r = api.get(f"/members/{member_id}/summary", scope="web", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_member_sees_everything_in_their_language(
    club: Api, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    anna = enrol(club, first_name="Anna", locale="sv-SE")
    buy(club, anna, 120_000)  # 1,200 SEK: Silver at once
    clock.advance(timedelta(days=15))  # past the pending period
    run_due(session_factory, clock=clock)
    buy(club, anna, 30_000)  # still pending
    r = club.post(f"/members/{anna}/badges", {"badge": "founder"})
    assert r.status_code == 200, r.text

    s = summary(club, anna)
    points = club.get(f"/members/{anna}/points", scope="web").json()
    assert s["member_id"] == anna
    assert s["language"] == "sv"
    assert s["greeting"] == "Hej Anna!"

    # Points: the ledger's figures, pending by the day they become spendable, expiring lots.
    p = s["points"]
    assert (p["available"], p["pending"]) == (points["available"], points["pending"])
    assert p["available"] > 0
    assert p["pending"] > 0
    assert p["point_name"] == "poäng"
    assert p["text"].startswith(
        f"Du har {points['available']:,} poäng att använda.".replace(",", "\xa0")
    )
    [on_the_way] = p["becoming_available"]
    assert on_the_way["points"] == points["pending"]
    assert "kan användas från" in on_the_way["text"]
    assert sum(e["points"] for e in p["expiring"]) == p["available"] + p["pending"]
    assert all("kan användas till och med" in e["text"] for e in p["expiring"])
    assert [e["at"] for e in p["expiring"]] == sorted(e["at"] for e in p["expiring"])

    # Tier: Silver, and what Gold still needs (spend in the rolling window).
    t = s["tier"]
    assert (t["code"], t["name"]) == ("silver", "Silver")
    assert t["perks"] == ["Free coffee refill"]
    assert t["total"] == 150_000
    assert t["next"]["tier_code"] == "gold"
    assert t["next"]["remaining"] == GOLD - 150_000
    assert t["next"]["by"] is None  # a rolling window has no deadline
    assert t["next"]["text"] == "1\xa0500,00\xa0kr till så når du Gold."
    assert t["text"] == "Din nivå är Silver. 1\xa0500,00\xa0kr till så når du Gold."

    # Rewards the member can afford now (not the trip), and paying with points.
    assert [(r["code"], r["points"]) for r in s["rewards"]] == [("bulle", 300), ("betala", 400)]
    assert [r["text"] for r in s["rewards"]] == [
        "Kanelbulle för 300 poäng",
        "Betala med upp till 400 poäng",
    ]

    # Challenges: two of three purchases.
    [c] = s["challenges"]
    assert (c["code"], c["progress"], c["target"], c["status"]) == ("three", 2, 3, "in_progress")
    assert c["text"] == "Tre köp: 2 av 3"

    # Referral link, badges.
    assert s["referral"]["link"].startswith("https://shop.example/join")
    assert s["referral"]["text"] == f"Bjud in en vän med din länk: {s['referral']['link']}"
    [b] = s["badges"]
    assert b["code"] == "founder"
    assert b["text"].startswith("Grundare, fått ")

    # The same summary in Finnish and in English, on request.
    fi = summary(club, anna, locale="fi")
    assert fi["language"] == "fi"
    assert fi["greeting"] == "Hei Anna!"
    assert fi["tier"]["text"].startswith("Tasosi on Silver.")
    assert fi["challenges"][0]["text"] == "Tre köp: 2/3"
    en = summary(club, anna, locale="en-GB")
    assert " poäng can be used until " in en["points"]["expiring"][0]["text"]
    assert en["tier"]["next"]["text"].endswith("more takes you to Gold.")
    # The figures do not depend on the language.
    assert fi["points"]["available"] == en["points"]["available"] == p["available"]


def test_a_spend_challenge_shows_money_in_the_member_s_language(club: Api) -> None:
    r = club.post(
        "/challenges",
        {
            "code": "spend",
            "name": "Handla för 500 kr",
            "goal": {"kind": "sum", "target": 50_000},
            "reward": {"points": 100},
        },
    )
    assert r.status_code == 201, r.text
    assert club.post("/challenges/spend/activate").status_code == 200
    anna = enrol(club, locale="sv-SE")
    buy(club, anna, 12_050)
    [c] = [c for c in summary(club, anna)["challenges"] if c["code"] == "spend"]
    assert (c["progress"], c["target"]) == (12_050, 50_000)  # the figures stay minor units
    assert c["text"] == "Handla för 500 kr: 120,50\xa0kr av 500,00\xa0kr"
    [en] = [c for c in summary(club, anna, locale="en")["challenges"] if c["code"] == "spend"]
    assert en["text"] == "Handla för 500 kr: SEK\xa0120.50 of SEK\xa0500.00"
    shown = {c["code"]: c for c in club.get(f"/members/{anna}/challenges").json()["challenges"]}
    assert (shown["spend"]["currency"], shown["three"]["currency"]) == ("SEK", None)


def test_without_tiers_or_referrals_those_parts_are_empty(api: Api) -> None:
    member = enrol(api, locale="nb-NO")
    s = summary(api, member)
    assert s["language"] == "nb"
    assert s["greeting"] == "Hei!"
    assert s["tier"] is None
    assert s["referral"] is None
    assert s["challenges"] == []
    assert s["badges"] == []
    assert s["rewards"] == []
    assert s["points"]["text"] == "Du har 0 points å bruke."
    assert s["points"]["becoming_available"] == []
    assert s["points"]["expiring"] == []


def test_the_club_language_speaks_to_a_member_without_a_locale(club: Api) -> None:
    member = enrol(club)  # the test club is in Europe/Stockholm
    assert summary(club, member)["language"] == "sv"
    assert summary(club, member)["tier"]["text"].startswith("Din nivå är Bronze.")


def test_a_merged_member_shows_the_member_that_carries_on(club: Api) -> None:
    kept, gone = enrol(club), enrol(club)
    buy(club, gone, 50_000)
    r = club.post(f"/members/{kept}/merge", {"from_member_id": gone})
    assert r.status_code == 200, r.text
    s = summary(club, gone)
    assert s["member_id"] == kept
    assert s["points"]["pending"] > 0


def test_bad_requests_name_the_problem(club: Api) -> None:
    r = club.get("/members/999999/summary", scope="web")
    assert r.status_code == 404
    assert r.json()["error"] == "MemberNotFound"
    member = enrol(club)
    r = club.get(f"/members/{member}/summary", scope="web", params={"locale": "x!"})
    assert r.status_code == 422
    assert r.json()["error"] == "ValidationError"
    assert [e["field"] for e in r.json()["errors"]] == ["locale"]
