"""A club with referrals, and the few steps every referral test takes through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.jobs.service import Summary, run_due
from tests.conftest import Api
from tests.factories import line, unique

REFERRALS: dict[str, Any] = {
    "advocate_points": 500,
    "referee_points": 250,
    "min_spend_minor": 20_000,  # 200 SEK
    "link_base_url": "https://shop.example/join",
}
WINDOW = timedelta(days=14)  # the test programme's pending_days: the return window


def configure(api: Api, **referrals: Any) -> None:
    """Give the test club's programme a referrals section (through the API)."""
    program = api.get("/program").json()["config"]
    program["referrals"] = {**REFERRALS, **referrals}
    r = api.client.put("/api/v1/program", json=program, headers=api.headers())
    assert r.status_code == 200, r.text


@pytest.fixture
def club(api: Api) -> Api:
    configure(api)
    return api


def enrol(api: Api, code: str | None = None, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"email": f"{unique('m')}@example.se", "channel": "web", **kw}
    if code is not None:
        body["referral_code"] = code
    r = api.post("/members", body, scope="web")
    assert r.status_code == 201, r.text
    member: dict[str, Any] = r.json()
    return member


def page(api: Api, member_id: int) -> dict[str, Any]:
    r = api.get(f"/members/{member_id}/referral", scope="web")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def code_of(api: Api, member_id: int) -> str:
    code: str = page(api, member_id)["code"]
    return code


def referred(api: Api, member_id: int) -> dict[str, Any]:
    """The referral that brought ``member_id`` in."""
    referral: dict[str, Any] | None = page(api, member_id)["referred_by"]
    assert referral is not None
    return referral


def buy(
    api: Api, member_id: int, amount: int = 25_000, scope: str = "integration", **kw: Any
) -> dict[str, Any]:
    body = {
        "order_id": unique("order"),
        "member_id": member_id,
        "channel": "web",
        "lines": [line(unit_price_minor=amount)],
        **kw,
    }
    r = api.post("/purchases", body, scope=scope)
    assert r.status_code in (200, 201), r.text
    purchase: dict[str, Any] = r.json()
    return purchase


def give_back(api: Api, order_id: str, **kw: Any) -> dict[str, Any]:
    r = api.post("/returns", {"return_id": unique("return"), "order_id": order_id, **kw})
    assert r.status_code in (200, 201), r.text
    body: dict[str, Any] = r.json()
    return body


def points(api: Api, member_id: int) -> dict[str, Any]:
    r = api.get(f"/members/{member_id}/points", scope="web")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ledger(api: Api, member_id: int) -> list[dict[str, Any]]:
    r = api.get(f"/members/{member_id}/ledger", scope="web")
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()["entries"]
    return entries


def jobs(factory: sessionmaker[Session], clock: FixedClock) -> Summary:
    return run_due(factory, clock=clock)
