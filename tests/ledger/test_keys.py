"""The natural keys of spends, adjustments and reward redemptions: one derivation, and the exact
spelling each endpoint has always stored (stored keys must keep matching their repeats)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from lojal.coupons import queries as coupon_queries
from lojal.ledger.keys import request_key
from lojal.rewards.service import redemption_key
from tests.conftest import Api

LONG = "k" * 150
DIGEST = hashlib.sha256(LONG.encode()).hexdigest()[:40]
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_a_points_key_names_the_entry_kind_and_keeps_the_idempotency_key_as_given() -> None:
    assert request_key(7, reference="r-1", idempotency_key="i-1", kind="spend") == "spend:7:ref:r-1"
    assert request_key(7, reference=None, idempotency_key="i-1", kind="spend") == "spend:7:key:i-1"
    assert request_key(7, reference=None, idempotency_key=LONG, kind="adjust") == (
        f"adjust:7:key:{LONG}"
    )
    fresh = request_key(7, reference=None, idempotency_key=None, kind="spend")
    assert re.fullmatch(f"spend:7:{UUID}", fresh)
    assert fresh != request_key(7, reference=None, idempotency_key=None, kind="spend")


def test_a_redemption_key_has_no_kind_and_hashes_a_long_idempotency_key() -> None:
    assert redemption_key(7, "till-1", "i-1") == "7:ref:till-1"
    assert redemption_key(7, None, "i-1") == "7:key:i-1"
    assert redemption_key(7, None, "k" * 100) == f"7:key:{'k' * 100}"
    assert redemption_key(7, None, LONG) == f"7:key:{DIGEST}"
    assert re.fullmatch(f"7:{UUID}", redemption_key(7, None, None))


def _entry_keys(api: Api, member_id: int) -> list[str]:
    page = api.get(f"/members/{member_id}/ledger", scope="web").json()
    return [e["key"] for e in reversed(page["entries"])]


def test_the_endpoints_store_the_keys_they_always_stored(api: Api) -> None:
    coupon_queries.forget_catalogue()
    r = api.post("/members", {"email": "keys@example.se"}, scope="web")
    assert r.status_code == 201, r.text
    m: int = r.json()["id"]
    grant = api.post(
        f"/members/{m}/points/adjust", {"points": 1000, "reason": "gift"}, idempotency_key="a-1"
    )
    assert grant.status_code == 200, grant.text
    spend = api.post(f"/members/{m}/points/spend", {"points": 1, "reference": "rc-1"}, scope="web")
    assert spend.status_code == 200, spend.text
    till = api.handle(email="keys@example.se")
    keyed = api.post(
        f"/members/{m}/points/spend", {"points": 1}, "pos", idempotency_key=LONG, handle=till
    )
    assert keyed.status_code == 200, keyed.text
    body: dict[str, Any] = {
        "code": "keys-voucher",
        "name": "Coffee voucher",
        "kind": "coupon",
        "points_price": 200,
        "coupon": {"discount_kind": "amount", "amount_minor": 3_000},
    }
    reward = api.post("/rewards", body)
    assert reward.status_code == 201, reward.text
    path = f"/members/{m}/rewards/{reward.json()['id']}/redeem"
    redeemed = api.post(path, {"channel": "app"}, scope="integration", idempotency_key=LONG)
    assert redeemed.status_code == 201, redeemed.text
    assert _entry_keys(api, m) == [
        f"adjust:{m}:key:a-1",
        f"spend:{m}:ref:rc-1",
        f"spend:{m}:key:{LONG}",
        f"reward:{m}:key:{DIGEST}",
    ]


def test_a_key_that_would_not_fit_its_column_has_its_idempotency_key_hashed() -> None:
    longest = "k" * 255  # the longest Idempotency-Key a request may send
    digest = hashlib.sha256(longest.encode()).hexdigest()[:40]
    assert request_key(7, reference=None, idempotency_key=longest, kind="spend") == (
        f"spend:7:key:{digest}"
    )
    assert len(request_key(10**18, reference=None, idempotency_key=longest, kind="adjust")) <= 200


def test_the_longest_idempotency_key_spends_once_on_every_database(api: Api) -> None:
    r = api.post("/members", {"email": "longest-key@example.se"}, scope="web")
    assert r.status_code == 201, r.text
    m: int = r.json()["id"]
    grant = api.post(f"/members/{m}/points/adjust", {"points": 50, "reason": "gift"})
    assert grant.status_code == 200, grant.text
    longest = "k" * 255
    first = api.post(
        f"/members/{m}/points/spend", {"points": 5}, scope="web", idempotency_key=longest
    )
    assert first.status_code == 200, first.text
    again = api.post(
        f"/members/{m}/points/spend", {"points": 5}, scope="web", idempotency_key=longest
    )
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert api.get(f"/members/{m}/points", scope="web").json()["available"] == 45
