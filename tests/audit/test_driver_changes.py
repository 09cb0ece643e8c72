"""Changes made on the driver are in the audit trail with who made them: point adjustments
from the API (the staff pages' in tests/pages/test_audit.py), tier decisions by staff and by
the purchase that upgrades a member — on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.audit.models import AuditRecord
from lojal.clock import FixedClock
from tests.conftest import Api
from tests.factories import make_member, make_purchase, unique
from tests.tiers.club import GOLD, amount, apply_tiers, tiers


def _about(session: Session, member_id: int, action: str) -> list[AuditRecord]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditRecord)
            .where(AuditRecord.about_member_id == member_id, AuditRecord.action == action)
            .order_by(AuditRecord.id)
        )
    )


def test_an_adjustment_through_the_api_names_the_key(api: Api, session: Session) -> None:
    member_id = api.post("/members", {"email": f"{unique('adj')}@example.se"}).json()["id"]
    body = {"points": 300, "reason": "goodwill", "reference": unique("ref")}
    r = api.post(f"/members/{member_id}/points/adjust", body)
    assert r.status_code == 200, r.text
    # the same adjustment again is no new record
    assert api.post(f"/members/{member_id}/points/adjust", body).status_code == 200
    [record] = _about(session, member_id, "points.adjusted")
    assert record.actor.startswith("key:")
    assert record.actor.endswith("test-admin")
    assert record.entity == "journal_entries"
    assert record.after is not None
    assert (record.after["points"], record.after["reason"]) == (300, "goodwill")


def test_a_staff_tier_decision_names_the_key(api: Api, session: Session) -> None:
    program = api.get("/program").json()["config"]
    assert api.put("/program", {**program, "tiers": tiers()}).status_code == 200
    member_id = api.post("/members", {"email": f"{unique('t')}@example.se"}).json()["id"]
    r = api.post(f"/members/{member_id}/tier", {"tier": "gold", "reason": "status match"})
    assert r.status_code == 200, r.text
    records = _about(session, member_id, "tier.changed")
    assert [(x.before, x.after and x.after["tier"]) for x in records] == [
        ({"tier": None}, "bronze"),  # joined
        ({"tier": "bronze"}, "gold"),
    ]
    decided = records[1]
    assert decided.actor.endswith("test-admin")
    assert decided.after is not None
    assert decided.after["reason"] == "manual"
    assert decided.after["note"] == "status match"
    assert decided.entity == "tier_changes"


def test_an_upgrade_by_a_purchase_is_recorded_with_the_purchases_caller(
    session: Session, clock: FixedClock
) -> None:
    apply_tiers(session, clock.now())
    member = make_member(session, clock)
    session.info["actor"] = "cli:importer"
    make_purchase(session, clock, member_id=member.id, lines=[amount(GOLD)])
    [_, upgrade] = _about(session, member.id, "tier.changed")
    assert upgrade.actor == "cli:importer"
    assert upgrade.after is not None
    assert upgrade.after["tier"] == "gold"
    session.rollback()
