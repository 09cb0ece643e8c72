"""The audit trail records who changed what, when, before and after — for API changes of members,
keys, rewards and the programme — and cannot be rewritten, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from lojal.audit import capture
from lojal.audit.models import AuditRecord
from lojal.clock import FixedClock
from lojal.db.models import Base
from lojal.staff import service as staff
from tests.conftest import DEFAULT_PROGRAM, PEPPER, Api
from tests.factories import unique


def _records(api: Api, **params: Any) -> list[dict[str, Any]]:
    r = api.get("/audit", params=params)
    assert r.status_code == 200, r.text
    records: list[dict[str, Any]] = r.json()["records"]
    return records


def test_the_audited_tables_exist() -> None:
    assert set(capture.AUDITED) <= set(Base.metadata.tables)


def test_a_members_email_change_says_who_changed_it_from_what_to_what(api: Api) -> None:
    email = f"{unique('a')}@example.se"
    created = api.post("/members", {"email": email, "first_name": "Ann"}, scope="pos")
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    new = f"{unique('b')}@example.se"
    changed = api.patch(f"/members/{member_id}", {"email": new, "first_name": "Anna"})
    assert changed.status_code == 200, changed.text
    records = _records(api, about_member_id=member_id)
    by = {(r["entity"], r["action"]) for r in records}
    assert ("members", "created") in by
    assert ("members", "changed") in by
    name = next(r for r in records if r["entity"] == "members" and r["action"] == "changed")
    assert name["before"] == {"first_name": "Ann"}
    assert name["after"] == {"first_name": "Anna"}
    assert name["actor"].startswith("key:")
    assert name["actor"].endswith("test-admin")
    identity = [r for r in records if r["entity"] == "member_identities"]
    values = json.dumps(identity)
    assert email in values
    assert new in values
    creator = next(r for r in records if r["entity"] == "members" and r["action"] == "created")
    assert creator["actor"].endswith("test-pos")


def test_every_programme_applied_is_kept_with_who_applied_it(api: Api) -> None:
    before = api.get("/program/versions").json()
    config = {**DEFAULT_PROGRAM, "name": f"Club {unique('v')}"}
    r = api.put("/program", config)
    assert r.status_code == 200, r.text
    versions = api.get("/program/versions").json()
    assert len(versions) == len(before) + 1
    latest = versions[0]
    assert latest["version"] == r.json()["version"]
    assert latest["applied_by"].endswith("test-admin")
    assert latest["config"]["name"] == config["name"]
    # the same programme again is no new version
    assert api.put("/program", config).status_code == 200
    assert len(api.get("/program/versions").json()) == len(versions)
    changes = _records(api, entity="programs")
    assert changes[0]["after"]["config"]["name"] == config["name"]


def test_a_key_created_and_revoked_is_recorded_without_its_secret(
    session: Session, clock: FixedClock
) -> None:
    session.info["actor"] = "cli:tester"
    key, _ = staff.create_key(
        session, name=unique("k"), kind="integration", pepper=PEPPER, now=clock.now()
    )
    staff.revoke(session, prefix=key.prefix, now=clock.now())
    session.flush()
    records = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.entity == "api_keys", AuditRecord.entity_id == str(key.id))
        .order_by(AuditRecord.id)
    ).all()
    assert [(r.action, r.actor) for r in records] == [
        ("created", "cli:tester"),
        ("changed", "cli:tester"),
    ]
    assert records[1].after is not None
    assert set(records[1].after) == {"revoked_at"}
    for record in records:
        assert "secret_hash" not in json.dumps([record.before, record.after])
        assert key.secret_hash not in json.dumps([record.before, record.after])
    session.rollback()


def test_a_reward_created_through_the_api_is_recorded(api: Api) -> None:
    body = {
        "code": unique("rw"),
        "name": "Coffee",
        "kind": "coupon",
        "points_price": 100,
        "coupon": {"discount_kind": "amount", "amount_minor": 1000},
    }
    r = api.post("/rewards", body)
    assert r.status_code == 201, r.text
    records = _records(api, entity="rewards", entity_id=str(r.json()["id"]))
    assert [x["action"] for x in records] == ["created"]
    assert records[0]["after"]["code"] == body["code"]


def test_the_log_cannot_be_rewritten_or_deleted(api: Api, session: Session) -> None:
    api.post("/members", {"email": f"{unique('x')}@example.se"}, scope="pos")
    session.expire_all()
    newest = session.scalar(select(AuditRecord.id).order_by(AuditRecord.id.desc()).limit(1))
    assert newest is not None
    for statement in (
        update(AuditRecord).where(AuditRecord.id == newest).values(actor="someone else"),
        delete(AuditRecord).where(AuditRecord.id == newest),
    ):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(statement)
    session.rollback()


def test_a_redaction_is_the_one_change_allowed(
    api: Api, session: Session, clock: FixedClock
) -> None:
    r = api.post("/members", {"email": f"{unique('y')}@example.se"}, scope="pos")
    member_id = r.json()["id"]
    session.expire_all()
    assert capture.redact(session, [member_id], clock.now()) >= 1
    rows = session.scalars(
        select(AuditRecord).where(AuditRecord.about_member_id == member_id)
    ).all()
    assert all(r.before is None and r.after is None and r.redacted_at for r in rows)
    session.rollback()
