"""A person's rights over their data: the export holds every row stored about them (their merged
members' too); erasure removes what names them while every journal entry stays balanced; the
retention rule erases only the members inactive for long enough — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from lojal import enrolment
from lojal.clock import FixedClock
from lojal.db.models import Base
from lojal.ledger import queries as ledger
from lojal.ledger.models import Posting
from lojal.members.models import Member
from lojal.members.schemas import MemberCreate
from lojal.privacy import erasure
from lojal.privacy.export import UNLINKED, member_columns
from tests.conftest import Api
from tests.factories import event_payload, make_purchase, purchase_payload, unique


def test_every_table_that_refers_to_members_says_what_erasure_does() -> None:
    scoped = {
        table.name
        for table in Base.metadata.tables.values()
        if any(fk.column.table.name == "members" for fk in table.foreign_keys)
    } | set(UNLINKED)
    missing = scoped - set(erasure.TABLES)
    assert not missing, f"say in lojal.privacy.erasure what erasure does to: {sorted(missing)}"
    assert set(erasure.TABLES) <= set(Base.metadata.tables), "erasure names a table that is gone"
    assert set(member_columns()) == scoped


_PHONES: list[int] = []


def _member(api: Api, **extra: Any) -> tuple[int, str]:
    email = f"{unique('priv')}@example.se"
    _PHONES.append(len(_PHONES) + 1)
    phone = f"+4670{os.getpid() % 1000:03d}{len(_PHONES):04d}"
    body = {"email": email, "phone": phone, "first_name": "Greta", **extra}
    r = api.post("/members", body, scope="web")
    assert r.status_code == 201, r.text
    member_id: int = r.json()["id"]
    return member_id, email


def _active(api: Api, member_id: int) -> None:
    """Activity in most of the tables that hold a member's rows."""
    order = unique("o")
    r = api.post(
        "/purchases",
        purchase_payload(order, member_id=member_id, attributes={"note": "Greta's gift"}),
        scope="web",
    )
    assert r.status_code == 201, r.text
    r = api.post(
        "/events",
        event_payload("survey_answered", member_id=member_id, properties={"name": "Greta"}),
        scope="integration",
    )
    assert r.status_code in (200, 201), r.text
    r = api.post(f"/members/{member_id}/points/adjust", {"points": 120, "reason": "gift"})
    assert r.status_code == 200, r.text
    consent = {"channel": "email", "granted": True, "source": "web"}
    assert api.post(f"/members/{member_id}/consents", consent).status_code == 200
    r = api.post("/returns", {"return_id": unique("r"), "order_id": order}, scope="web")
    assert r.status_code in (200, 201), r.text


def _stored(session: Session, ids: list[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, columns in member_columns().items():
        table = Base.metadata.tables[name]
        where = [table.c[c].in_(ids) for c in columns]
        if name == "members":
            where = [table.c.id.in_(ids)]
        n = session.scalar(select(func.count()).select_from(table).where(or_(*where)))
        if n:
            counts[name] = int(n or 0)
    return counts


def test_the_export_holds_every_row_stored_about_the_person(api: Api, session: Session) -> None:
    kept, email = _member(api)
    other, _ = _member(api, first_name="Anna")
    _active(api, kept)
    _active(api, other)
    merged = api.post(f"/members/{kept}/merge", {"from_member_id": other})
    assert merged.status_code == 200, merged.text
    r = api.get(f"/members/{kept}/export")
    assert r.status_code == 200, r.text
    export = r.json()
    assert export["format"] == "lojal.member-export/1"
    assert export["merged"] == [other]
    exported = {name: len(rows) for name, rows in export["tables"].items()}
    session.expire_all()
    assert exported == _stored(session, [kept, other])
    for table in (
        "purchases",
        "purchase_lines",
        "returns",
        "events",
        "journal_entries",
        "postings",
        "point_lots",
        "point_balances",
        "consents",
        "member_identities",
    ):
        assert table in exported, table
    text = json.dumps(export)
    assert email in text
    assert "Greta's gift" in text


def test_erasure_removes_what_names_the_person_and_keeps_the_ledger_balanced(
    api: Api, session: Session
) -> None:
    member_id, email = _member(api, attributes={"favourite": "Greta's blend"})
    _active(api, member_id)
    r = api.post(f"/members/{member_id}/erase")
    assert r.status_code == 200, r.text
    assert r.json()["already"] is False
    assert r.json()["removed"]["identities"] == 3  # email, phone and the card lojal issued
    read = api.get(f"/members/{member_id}")
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["status"] == "closed"
    assert body["email"] is None
    assert body["phone"] is None
    assert body["card_number"] is None
    assert body["first_name"] is None
    assert body["attributes"] == {}
    assert api.get("/members", params={"email": email}, scope="web").status_code == 404
    points = api.get(f"/members/{member_id}/points", scope="web").json()
    assert points["available"] == 0
    text = json.dumps(api.get(f"/members/{member_id}/export").json())
    for personal in (email, "Greta", "+4670"):
        assert personal not in text, personal
    assert '"member_erased"' in text
    session.expire_all()
    assert ledger.verify(session) == []
    unbalanced = session.execute(
        select(Posting.entry_id)
        .where(Posting.member_id == member_id)
        .group_by(Posting.entry_id)
        .having(func.sum(Posting.amount) != 0)
    ).all()
    assert unbalanced == []
    again = api.post(f"/members/{member_id}/erase")
    assert again.status_code == 200
    assert again.json()["already"] is True
    # the address is free: the person may join again, as a new member
    fresh = api.post("/members", {"email": email}, scope="web")
    assert fresh.status_code == 201, fresh.text
    assert fresh.json()["id"] != member_id


def test_erasing_a_member_that_does_not_exist_is_404(api: Api) -> None:
    r = api.post("/members/987654321/erase")
    assert r.status_code == 404, r.text


def test_retention_erases_only_members_inactive_for_the_years_given(
    session: Session, clock: FixedClock, program: Any
) -> None:
    now = clock.now()
    old = enrolment.enrol(session, data=MemberCreate(email=f"{unique('old')}@example.se"), now=now)
    recent = enrolment.enrol(
        session, data=MemberCreate(email=f"{unique('new')}@example.se"), now=now
    )
    session.execute(
        update(Member)
        .where(Member.id.in_([old.id, recent.id]))
        .values(enrolled_at=now - timedelta(days=4 * 366))
    )
    session.flush()
    make_purchase(session, clock, member_id=recent.id)
    erased = erasure.erase_inactive(session, years=3, now=now, limit=100_000)
    assert old.id in erased
    assert recent.id not in erased
    assert erasure.erased(session, old.id)
    assert not erasure.erased(session, recent.id)
    assert erasure.erase_inactive(session, years=3, now=now, limit=100_000).count(old.id) == 0
    session.rollback()
