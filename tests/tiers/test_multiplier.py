"""A tier's earning multiplier: applied to purchases of members in the tier, explained, and
right on the import path too (where awards are cached per basket)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lojal.activities.batch import BulkPurchase
from lojal.activities.bulk import import_purchases
from lojal.activities.events import LineFacts
from lojal.clock import FixedClock
from tests.conftest import Api
from tests.factories import make_member, make_purchase, purchase_payload
from tests.tiers.club import GOLD, SILVER, amount, apply_tiers, tiers


def test_a_gold_member_earns_the_gold_multiplier_with_its_explanation(api: Api) -> None:
    program = api.get("/program").json()["config"]
    assert api.put("/program", {**program, "tiers": tiers()}).status_code == 200
    member = api.post("/members", {"email": "gold@example.se"}, scope="pos").json()["id"]

    # The purchase that reaches Gold earns at the tier the member had: Bronze, ×1.
    first = api.post("/purchases", purchase_payload(member_id=member, lines=[amount(GOLD)]))
    assert first.status_code == 201, first.text
    assert first.json()["points"] == 3000
    assert api.get(f"/members/{member}/tier").json()["tier"]["code"] == "gold"

    # From the next purchase on, Gold's ×1.5.
    second = api.post("/purchases", purchase_payload(member_id=member, lines=[amount(10_000)]))
    assert second.json()["points"] == 150
    assert second.json()["explanation"] == "150 points: 1 per SEK on SEK\xa0100.00; ×1.5 Gold"


def test_members_with_the_same_basket_in_one_import_earn_by_their_own_tier(
    session: Session, clock: FixedClock
) -> None:
    apply_tiers(session, clock.now())
    bronze, silver, gold = (make_member(session, clock) for _ in range(3))
    make_purchase(session, clock, member_id=silver.id, lines=[amount(SILVER)])
    make_purchase(session, clock, member_id=gold.id, lines=[amount(GOLD)])
    basket = [LineFacts.of("COFFEE", 4_000, 2)]
    result = import_purchases(
        session,
        [
            BulkPurchase(f"same-{m.id}", clock.now(), basket, member_id=m.id)
            for m in (bronze, silver, gold)
        ],
        clock.now(),
        details=True,
    )
    assert [written.points for _, written in sorted(result.details.items())] == [80, 100, 120]
    assert "×1.25 Silver" in result.details[1].explanation
    assert "×1.5 Gold" in result.details[2].explanation
