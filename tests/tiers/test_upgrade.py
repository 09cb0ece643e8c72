"""Upgrades happen at once: in the transaction of the purchase that reaches the threshold, on
every path a purchase takes (the API's batch of one, an import batch, activity credited at
enrolment), on spend net of returns or on points earned, and never because of old activity."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.activities.batch import BulkPurchase
from lojal.activities.bulk import import_purchases
from lojal.activities.events import LineFacts
from lojal.clock import FixedClock
from lojal.members.models import Member
from lojal.tiers import queries as tiers
from lojal.tiers.models import MemberTier, TierChange
from tests.conftest import apply_program
from tests.factories import make_event, make_member, make_purchase, make_return
from tests.tiers.club import GOLD, SILVER, amount, apply_tiers, changes, tier_events


def tier_of(session: Session, member_id: int) -> str | None:
    return session.scalar(select(Member.tier).where(Member.id == member_id))


def test_a_new_member_starts_in_the_tier_everyone_has(session: Session, clock: FixedClock) -> None:
    apply_tiers(session, clock.now())
    member = make_member(session, clock)
    assert member.tier == "bronze"
    assert changes(session, member.id) == [(None, "bronze", "joined")]


def test_the_purchase_that_reaches_the_threshold_upgrades_in_its_own_transaction(
    session: Session, clock: FixedClock
) -> None:
    apply_tiers(session, clock.now())
    member = make_member(session, clock)
    make_purchase(session, clock, member_id=member.id, lines=[amount(SILVER - 1)])
    session.commit()
    assert tier_of(session, member.id) == "bronze"

    make_purchase(session, clock, member_id=member.id, lines=[amount(1)])
    # Before anything commits, the same transaction sees the new tier, its history and event.
    assert tier_of(session, member.id) == "silver"
    assert changes(session, member.id)[-1] == ("bronze", "silver", "qualified")
    joined, event = tier_events(session, member.id)
    assert joined.properties["to"] == "bronze"
    assert event.properties == {
        "from": "bronze",
        "to": "silver",
        "reason": "qualified",
        "direction": "up",
    }
    [change] = session.scalars(select(TierChange).where(TierChange.to_tier == "silver"))
    assert event.event_id == f"tier_changed:{change.id}"
    assert change.detail["total"] == SILVER

    # ... and rolling the purchase back takes the upgrade with it.
    session.rollback()
    assert tier_of(session, member.id) == "bronze"
    assert changes(session, member.id) == [(None, "bronze", "joined")]
    assert len(tier_events(session, member.id)) == 1


def test_a_big_purchase_climbs_several_tiers_at_once(session: Session, clock: FixedClock) -> None:
    apply_tiers(session, clock.now())
    member = make_member(session, clock)
    make_purchase(session, clock, member_id=member.id, lines=[amount(GOLD)])
    assert tier_of(session, member.id) == "gold"
    assert changes(session, member.id) == [
        (None, "bronze", "joined"),
        ("bronze", "gold", "qualified"),
    ]


def test_returns_do_not_downgrade_at_once_and_spend_counts_net_of_them(
    session: Session, clock: FixedClock
) -> None:
    apply_tiers(session, clock.now())
    member = make_member(session, clock)
    order = make_purchase(session, clock, member_id=member.id, lines=[amount(SILVER)])
    assert tier_of(session, member.id) == "silver"
    make_return(session, clock, order.row.order_id)
    assert tier_of(session, member.id) == "silver"  # kept until the review
    assert tiers.progress(session, member_id=member.id, now=clock.now()).total == 0

    # Towards gold, only what was kept counts: 3,000 + 1,000 bought, 1,000 returned.
    make_purchase(session, clock, member_id=member.id, lines=[amount(GOLD - 1)])
    assert tier_of(session, member.id) == "silver"
    make_purchase(session, clock, member_id=member.id, lines=[amount(1)])
    assert tier_of(session, member.id) == "gold"


def test_activity_older_than_the_window_does_not_count(session: Session, clock: FixedClock) -> None:
    apply_tiers(session, clock.now())
    member = make_member(session, clock)
    long_ago = clock.now() - timedelta(days=370)
    make_purchase(
        session, clock, member_id=member.id, lines=[amount(GOLD)], occurred_at=long_ago.isoformat()
    )
    assert tier_of(session, member.id) == "bronze"
    make_purchase(session, clock, member_id=member.id, lines=[amount(SILVER)])
    assert tier_of(session, member.id) == "silver"


def _bulk(order_id: str, member_id: int, minor: int, clock: FixedClock) -> BulkPurchase:
    return BulkPurchase(
        order_id=order_id,
        member_id=member_id,
        occurred_at=clock.now(),
        lines=[LineFacts.of("SKU-1", minor)],
    )


def test_an_import_batch_upgrades_its_members_in_the_batch(
    session: Session, clock: FixedClock
) -> None:
    apply_tiers(session, clock.now())
    members = [make_member(session, clock) for _ in range(6)]
    spend = [SILVER - 1, SILVER, GOLD - 1, GOLD, 0, 5 * GOLD]
    batch = [
        _bulk(f"imp-{i}-{part}", member.id, minor // 2 + (minor % 2 if part else 0), clock)
        for i, (member, minor) in enumerate(zip(members, spend, strict=True))
        for part in range(2)
    ]
    result = import_purchases(session, batch, clock.now())
    assert result.written == 12
    assert [tier_of(session, m.id) for m in members] == [
        "bronze",
        "silver",
        "silver",
        "gold",
        "bronze",
        "gold",
    ]
    history = session.scalar(select(func.count()).select_from(TierChange))
    # The same file again: every order is known, nothing changes.
    again = import_purchases(session, batch, clock.now())
    assert again.skipped == 12
    assert session.scalar(select(func.count()).select_from(TierChange)) == history


def test_activity_credited_at_enrolment_qualifies(session: Session, clock: FixedClock) -> None:
    apply_tiers(session, clock.now())
    make_purchase(session, clock, email="later@example.se", lines=[amount(GOLD)])
    member = make_member(session, clock, email="later@example.se")
    assert member.tier == "gold"
    assert changes(session, member.id) == [
        (None, "bronze", "joined"),
        ("bronze", "gold", "qualified"),
    ]


def test_a_club_without_tiers_writes_nothing(session: Session, clock: FixedClock) -> None:
    apply_program(session, clock.now())
    member = make_member(session, clock)
    make_purchase(session, clock, member_id=member.id, lines=[amount(10 * GOLD)])
    assert tier_of(session, member.id) is None
    assert session.scalar(select(func.count()).select_from(MemberTier)) == 0
    assert session.scalar(select(func.count()).select_from(TierChange)) == 0


POINTS_CLUB: dict[str, Any] = {
    "basis": "points",
    "levels": [
        {"code": "member", "name": "Member", "threshold": 0},
        {"code": "plus", "name": "Plus", "threshold": 500},
    ],
}


def test_on_the_points_basis_points_earned_count_and_adjustments_do_not(
    session: Session, clock: FixedClock
) -> None:
    from lojal.ledger import service as ledger

    config = apply_tiers(
        session,
        clock.now(),
        tiers=POINTS_CLUB,
        rules=[
            {"id": "base", "kind": "base", "points": 1},
            {"id": "review", "kind": "event", "event_type": "review_written", "points": 100},
        ],
    )
    member = make_member(session, clock)
    assert member.tier == "member"
    ledger.adjust(
        session,
        member_id=member.id,
        points=10_000,
        reason="goodwill",
        key="goodwill-1",
        now=clock.now(),
        config=config,
    )
    make_purchase(session, clock, member_id=member.id, lines=[amount(40_000)])  # 400 points
    assert tier_of(session, member.id) == "member"
    make_event(session, clock, "review_written", member_id=member.id)  # +100 points
    assert tier_of(session, member.id) == "plus"
    assert tiers.progress(session, member_id=member.id, now=clock.now()).total == 500


def test_on_the_points_basis_clawed_back_points_no_longer_count(
    session: Session, clock: FixedClock
) -> None:
    apply_tiers(session, clock.now(), tiers=POINTS_CLUB)
    member = make_member(session, clock)
    order = make_purchase(session, clock, member_id=member.id, lines=[amount(40_000)])
    make_return(session, clock, order.row.order_id)
    make_purchase(session, clock, member_id=member.id, lines=[amount(20_000)])
    assert tiers.progress(session, member_id=member.id, now=clock.now()).total == 200
    assert tier_of(session, member.id) == "member"
