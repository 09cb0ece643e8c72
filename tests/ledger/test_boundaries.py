"""A lot's dates decide, not the job: one second before and after the end of the pending
period and the expiry moment, the balance (GET points, the summary), a spend and a return are
right whether or not ``lojal jobs run`` has run, and the job run afterwards writes nothing
twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.jobs.service import run_due
from lojal.ledger import queries
from lojal.ledger import queries as ledger_queries
from lojal.ledger import service as ledger
from lojal.ledger.models import JournalEntry
from lojal.members import merging
from lojal.members import service as members
from lojal.program.schemas import ProgramConfig
from tests.conftest import START, Api
from tests.factories import (
    make_member,
    make_purchase,
    make_return,
    member_payload,
    purchase_payload,
)

SECOND = timedelta(seconds=1)
PENDING_ENDS = START + timedelta(days=14)  # the default programme: 14 days pending
EXPIRES = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)  # and 12 months to expiry


def _member_with_a_purchase(api: Api) -> int:
    r = api.post("/members", member_payload(), scope="web")
    assert r.status_code == 201, r.text
    member_id: int = r.json()["id"]
    r = api.post("/purchases", purchase_payload(member_id=member_id), scope="web")
    assert r.status_code == 201, r.text
    return member_id


def _points(api: Api, member_id: int) -> dict[str, Any]:
    r = api.get(f"/members/{member_id}/points", scope="web")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _summary_points(api: Api, member_id: int) -> dict[str, Any]:
    r = api.get(f"/members/{member_id}/summary", scope="web")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["points"]
    return body


def _spend(api: Api, member_id: int, points: int) -> Any:
    return api.post(f"/members/{member_id}/points/spend", {"points": points}, scope="web")


def _keys(session: Session, prefix: str) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(JournalEntry.key).where(JournalEntry.key.like(prefix))))


def _entry_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(JournalEntry)) or 0)


def test_points_are_spendable_the_second_the_pending_period_ends(
    api: Api, session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    m = _member_with_a_purchase(api)
    clock.at = PENDING_ENDS - SECOND
    points = _points(api, m)
    assert (points["pending"], points["available"]) == (100, 0)
    assert [lot["state"] for lot in points["lots"]] == ["pending"]
    assert _summary_points(api, m)["available"] == 0
    refused = _spend(api, m, 1)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "InsufficientPoints"

    clock.at = PENDING_ENDS + SECOND
    written = _entry_count(session)
    points = _points(api, m)
    assert (points["pending"], points["available"]) == (0, 100)
    assert [lot["state"] for lot in points["lots"]] == ["available"]
    summary = _summary_points(api, m)
    assert (summary["available"], summary["pending"], summary["becoming_available"]) == (
        100,
        0,
        [],
    )
    assert _entry_count(session) == written  # reading wrote nothing
    spent = _spend(api, m, 30)
    assert spent.status_code == 200, spent.text
    assert (spent.json()["available"], spent.json()["pending"]) == (70, 0)
    kinds = [e["kind"] for e in api.get(f"/members/{m}/ledger", scope="web").json()["entries"]]
    assert kinds == ["spend", "activate", "earn"]

    # the spend wrote the job's entry: the job finds it done
    assert run_due(session_factory, clock=clock).activated == 0
    assert len(_keys(session, "activate:%")) == 1
    assert _points(api, m)["available"] == 70
    assert ledger_queries.verify(session) == []


def test_no_point_is_seen_or_spent_after_its_expiry(
    api: Api, session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    m = _member_with_a_purchase(api)  # never a job run until the end
    clock.at = EXPIRES - SECOND
    points = _points(api, m)
    assert (points["pending"], points["available"], points["lifetime_expired"]) == (0, 100, 0)
    summary = _summary_points(api, m)
    assert summary["available"] == 100
    assert [e["points"] for e in summary["expiring"]] == [100]
    assert _spend(api, m, 40).status_code == 200

    clock.at = EXPIRES + SECOND
    written = _entry_count(session)
    points = _points(api, m)
    assert (points["pending"], points["available"], points["lifetime_expired"]) == (0, 0, 60)
    assert points["lots"] == []
    summary = _summary_points(api, m)
    assert (summary["available"], summary["expiring"]) == (0, [])
    assert _entry_count(session) == written
    refused = _spend(api, m, 1)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "InsufficientPoints"

    # the refused spend took back everything it wrote; the job writes the expiry, once
    assert _keys(session, "expire:%") == []
    assert run_due(session_factory, clock=clock).expired == 1
    assert run_due(session_factory, clock=clock).expired == 0
    assert len(_keys(session, "expire:%")) == 1
    assert len(_keys(session, "activate:%")) == 1
    assert _points(api, m)["lifetime_expired"] == 60
    assert ledger_queries.verify(session) == []


def test_a_spend_after_an_expiry_writes_the_expiry_and_the_job_writes_it_no_more(
    api: Api, session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    m = _member_with_a_purchase(api)
    clock.at = START + timedelta(days=30)
    r = api.post(f"/members/{m}/points/adjust", {"points": 50, "reason": "goodwill"})
    assert r.status_code == 200, r.text
    clock.at = EXPIRES + SECOND  # the purchase's lot is gone, the goodwill lot is not
    assert _points(api, m)["available"] == 50
    spent = _spend(api, m, 10)
    assert spent.status_code == 200, spent.text
    assert (spent.json()["available"], spent.json()["lifetime_expired"]) == (40, 100)
    assert len(_keys(session, "expire:%")) == 1
    assert _spend(api, m, 41).json()["error"] == "InsufficientPoints"

    done = run_due(session_factory, clock=clock)
    assert (done.activated, done.expired) == (0, 0)
    assert len(_keys(session, "expire:%")) == 1
    assert len(_keys(session, "activate:%")) == 1
    points = _points(api, m)
    assert (points["available"], points["lifetime_expired"]) == (40, 100)
    assert ledger_queries.verify(session) == []


def test_the_balance_as_of_now_needs_no_job_and_agrees_with_it(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    m = make_member(session, clock)
    make_purchase(session, clock, member_id=m.id)
    session.commit()
    for at, expected in (
        (PENDING_ENDS - SECOND, (100, 0, 0)),
        (PENDING_ENDS, (0, 100, 0)),
        (EXPIRES - SECOND, (0, 100, 0)),
        (EXPIRES, (0, 0, 100)),
    ):
        for with_lots in (False, True):
            now = queries.balance_now(session, m.id, now=at, with_lots=with_lots)
            assert (now.pending, now.available, now.lifetime_expired) == expected
    stored = ledger_queries.balance(session, m.id)
    assert (stored.pending, stored.available) == (100, 0)  # nothing was written
    clock.at = EXPIRES
    run_due(session_factory, clock=clock)
    session.expire_all()
    stored = ledger_queries.balance(session, m.id)
    assert (stored.pending, stored.available, stored.lifetime_expired) == (0, 0, 100)


def test_a_return_after_the_expiry_takes_back_what_the_job_would_have_left(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    m = make_member(session, clock)
    order = make_purchase(session, clock, member_id=m.id).row.order_id
    clock.at = EXPIRES + SECOND
    row = make_return(session, clock, order).row
    assert (row.points_clawed_back, row.points_unrecovered) == (0, 100)
    assert ledger_queries.balance(session, m.id).lifetime_expired == 100
    assert len(_keys(session, "expire:%")) == 1
    assert ledger.expire_due(session, now=clock.now()) == 0
    assert ledger_queries.verify(session) == []


def test_a_return_the_second_the_pending_period_ends_takes_from_the_available_lot(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    m = make_member(session, clock)
    order = make_purchase(session, clock, member_id=m.id).row.order_id
    clock.at = PENDING_ENDS
    row = make_return(session, clock, order).row
    assert (row.points_clawed_back, row.points_unrecovered) == (100, 0)
    assert _keys(session, "activate:%") != []  # the lot was activated, as the job would
    assert ledger.activate_due(session, now=clock.now()) == 0
    assert ledger_queries.verify(session) == []


def test_forfeit_and_merge_treat_expired_lots_as_expired(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    a, b, c = (make_member(session, clock) for _ in range(3))
    for x in (a, b, c):
        make_purchase(session, clock, member_id=x.id)
    clock.at = EXPIRES + SECOND
    merging.merge(session, into_id=a.id, from_id=b.id, now=clock.now())
    assert (
        ledger_queries.balance(session, a.id).available,
        ledger_queries.balance(session, a.id).pending,
    ) == (
        0,
        0,
    )
    members.close(session, member_id=c.id, now=clock.now())
    assert len(_keys(session, "expire:%")) == 3
    assert _keys(session, "forfeit:%") == []
    assert ledger.expire_due(session, now=clock.now()) == 0
    assert ledger.activate_due(session, now=clock.now()) == 0
    assert ledger_queries.verify(session) == []
