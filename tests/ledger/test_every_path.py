"""Every kind of entry, through every path that writes one — the API's purchases, the import's
batches, events, enrolment's credit, the first-purchase bonus, a challenge's reward
(``earn_many``), a referral's rewards, spending, adjustments both ways, a return's clawback, a
reward's redemption, the jobs' activation and expiry, a closed membership's forfeit, a merge —
and afterwards every entry balances and ``verify`` finds nothing, on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal import enrolment
from lojal.activities import returns
from lojal.activities.batch import BulkPurchase
from lojal.activities.bulk import import_purchases
from lojal.activities.events import LineFacts
from lojal.activities.schemas import ReturnCreate
from lojal.clock import FixedClock
from lojal.jobs.service import run_due
from lojal.ledger import queries as ledger_queries
from lojal.ledger import service as ledger
from lojal.ledger.entries import ENTRY_KINDS
from lojal.ledger.models import JournalEntry, Posting
from lojal.members import merging
from lojal.members import service as members
from lojal.members.models import Member
from lojal.members.schemas import MemberCreate
from lojal.program import service as program_service
from tests.challenges.helpers import define
from tests.conftest import Api
from tests.factories import make_event
from tests.referrals.conftest import REFERRALS, buy, code_of, enrol, give_back
from tests.rewards.helpers import redeem, reward

RULES: list[dict[str, Any]] = [
    {"id": "base", "kind": "base", "points": 1},
    {
        "id": "big",
        "kind": "bonus",
        "points": 30,
        "when": {"field": "purchase.total_minor", "op": "gte", "value": 20_000},
        "cap": {"points": 60, "period": "month"},
    },
    {"id": "welcome", "kind": "first_purchase", "points": 100},
    {"id": "review", "kind": "event", "event_type": "review_written", "points": 20},
]


def _configure(api: Api) -> None:
    program = api.get("/program").json()["config"]
    program["rules"] = RULES
    program["referrals"] = REFERRALS
    r = api.client.put("/api/v1/program", json=program, headers=api.headers())
    assert r.status_code == 200, r.text


def _jobs(session: Session, factory: sessionmaker[Session], clock: FixedClock) -> None:
    session.commit()
    run_due(factory, clock=clock)
    session.expire_all()


def _member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    assert member is not None
    return member


def test_every_kind_of_entry_through_every_path_balances(
    api: Api, session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    _configure(api)
    define(session, clock.now(), goal={"kind": "count", "target": 1}, reward={"points": 40})
    session.commit()
    config = program_service.current(session)

    # a purchase, and a return of part of it, for someone who is not a member yet
    waiting_at = clock.now() - timedelta(days=2)
    import_purchases(
        session,
        [
            BulkPurchase(
                order_id="before-1",
                email="carl@example.se",
                occurred_at=waiting_at,
                lines=(
                    LineFacts.of("K-1", 12_000, 2, category="coffee"),
                    LineFacts.of("B-1", 5_000, 1),
                ),
            )
        ],
        clock.now(),
    )
    returns.record_return(
        session,
        data=ReturnCreate.model_validate(
            {"return_id": "r-before-1", "order_id": "before-1", "lines": [{"line_no": 1}]}
        ),
        now=clock.now(),
    )
    session.commit()

    # the API: enrolment, a referral, a first purchase (bonus, challenge, referral rewards)
    anna = enrol(api, first_name="Anna")["id"]
    bo = enrol(api, code=code_of(api, anna), first_name="Bo")["id"]
    order = buy(api, bo, 25_000)
    # the import's path: a batch of purchases
    import_purchases(
        session,
        [
            BulkPurchase(
                order_id=f"imp-{n}",
                member_id=anna,
                occurred_at=clock.now() - timedelta(hours=n),
                lines=(LineFacts.of("K-1", 21_000),),
            )
            for n in range(1, 4)
        ],
        clock.now(),
    )
    # an event the rules reward
    make_event(session, clock, member_id=anna)
    # enrolment credits what waited, with its return taken back
    carl = enrolment.enrol(
        session, data=MemberCreate(email="carl@example.se", channel="store"), now=clock.now()
    ).id
    session.commit()
    # the till returns part of an order: a clawback
    give_back(api, order["order_id"], lines=[{"line_no": 1, "quantity": 1}])
    session.expire_all()

    # staff: adjustments both ways, a spend, a reward's redemption
    now = clock.now()
    ledger.adjust(
        session, member_id=anna, points=300, reason="goodwill", key="t:1", now=now, config=config
    )
    ledger.adjust(
        session, member_id=anna, points=-20, reason="mistake", key="t:2", now=now, config=config
    )
    ledger.spend(session, member_id=anna, points=15, key="t:3", now=now, reason="test")
    redeem(session, clock, reward(session, clock), _member(session, anna))

    # the jobs: pending points become available
    clock.advance(timedelta(days=15))
    _jobs(session, session_factory, clock)
    # a merge, a closed membership
    merging.merge(session, into_id=anna, from_id=carl, now=clock.now())
    members.close(session, member_id=bo, now=clock.now(), reason="left the club")
    # the jobs: points expire
    clock.advance(timedelta(days=400))
    _jobs(session, session_factory, clock)

    session.expire_all()
    kinds = set(session.scalars(select(JournalEntry.kind).distinct()))
    assert kinds == set(ENTRY_KINDS)
    keys = list(session.scalars(select(JournalEntry.key)))
    for prefix in (
        "purchase:",
        "event:",
        "challenge:",
        "referral:",
        "return:",
        "reward:",
        "activate:",
        "expire:",
        "forfeit:",
        "merge:",
    ):
        assert any(key.startswith(prefix) for key in keys), prefix
    credited = session.scalar(
        select(func.count())
        .select_from(JournalEntry)
        .where(JournalEntry.member_id == carl, JournalEntry.kind.in_(("earn", "clawback")))
    )
    assert credited == 2
    sums = {
        int(entry_id): int(total)
        for entry_id, total in session.execute(
            select(Posting.entry_id, func.sum(Posting.amount)).group_by(Posting.entry_id)
        )
    }
    assert len(sums) == len(keys)  # every entry has its postings
    assert {entry_id: total for entry_id, total in sums.items() if total != 0} == {}
    assert ledger_queries.verify(session) == []
