"""Purchases of one member at the same moment on both databases: the member is upgraded once,
with one history row and one event per tier crossed — the purchase path's lock on the member
serialises the decisions."""

from __future__ import annotations

from sqlalchemy import Engine, select

from lojal.activities import service as activities
from lojal.activities.schemas import PurchaseCreate
from lojal.clock import FixedClock
from lojal.db.session import make_session_factory, transaction
from lojal.members.models import Member
from tests.concurrency import run_together
from tests.conftest import START
from tests.factories import make_member, purchase_payload
from tests.tiers.club import SILVER, amount, apply_tiers, changes, tier_events

THREADS = 12


def test_concurrent_purchases_upgrade_a_member_once(fresh_engine: Engine) -> None:
    factory = make_session_factory(fresh_engine)
    clock = FixedClock(START)
    with transaction(factory) as session:
        apply_tiers(session, clock.now())
        member_id = make_member(session, clock).id

    # Twelve purchases of a fifth of Silver's threshold: Silver is crossed by the fifth.
    def buy(i: int) -> int:
        data = PurchaseCreate.model_validate(
            purchase_payload(f"race-{i}", member_id=member_id, lines=[amount(SILVER // 5)])
        )
        with transaction(factory) as session:
            points: int = activities.record_purchase(session, data=data, now=clock.now()).row.points
            return points

    results = run_together(THREADS, buy)
    assert not [r for r in results if isinstance(r, Exception)], results
    with transaction(factory, read_only=True) as session:
        assert session.scalar(select(Member.tier).where(Member.id == member_id)) == "silver"
        assert changes(session, member_id) == [
            (None, "bronze", "joined"),
            ("bronze", "silver", "qualified"),
        ]
        assert len(tier_events(session, member_id)) == 2
    # Points follow the tier the member had when each purchase was recorded: five at ×1
    # (up to the one that crossed), the rest at Silver's ×1.25.
    assert sorted(results) == [200] * 5 + [250] * 7
