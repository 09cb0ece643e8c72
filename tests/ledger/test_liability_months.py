"""The closed months' IFRS 15 figures stored by the worker's ``ledger_months`` job: read with
the open month live, they are exactly the figures of the whole ledger — on a demo club, after
new activity, and after a back-dated purchase — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from lojal.activities.models import Purchase
from lojal.calendar import local_day, local_midnight
from lojal.clock import FixedClock
from lojal.demo.generator import busiest_member, generate
from lojal.ledger import service as ledger
from lojal.ledger import tasks
from lojal.ledger.liability import Liability, read, read_stored
from lojal.ledger.models import LedgerMonth, LedgerMonthMark
from lojal.program import service as program_service
from lojal.worker.schedule import DEFAULT
from tests.conftest import START
from tests.factories import line, make_purchase


def _both(session: Session, clock: FixedClock) -> tuple[Liability, Liability]:
    config = program_service.current(session)
    until = local_day(clock.now(), ZoneInfo(config.timezone))
    kw = {
        "until": until,
        "timezone": config.timezone,
        "currency": config.currency,
        "point_value": config.point_value,
    }
    return read_stored(session, **kw), read(session, **kw)  # type: ignore[arg-type]


def test_stored_months_and_the_open_one_live_equal_the_whole_ledger(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    generate(session_factory, members=60, seed=4, now=clock.now(), pepper="months")
    with session_factory() as session:
        stored = tasks.store(session, now=clock.now())
        assert stored.endswith("monthly ledger figures stored")
        assert int(stored.split()[0]) > 0
        session.commit()
        again = tasks.store(session, now=clock.now())  # twice: the same rows
        assert again == stored
        session.commit()
        mark = session.get(LedgerMonthMark, 1)
        assert mark is not None
        opened = local_day(clock.now(), ZoneInfo("Europe/Stockholm")).replace(day=1)
        assert mark.closed_before == opened
        kept, whole = _both(session, clock)
        assert len(whole.months) > 6
        assert kept == whole

        # the stored rows are what is read: a changed row changes the figures
        session.execute(
            update(LedgerMonth)
            .where(LedgerMonth.measure == "sales")
            .values(amount=LedgerMonth.amount + 1_000_000)
        )
        tampered, _ = _both(session, clock)
        assert tampered != whole
        session.rollback()

        # new activity in the open month, and the month after, read live
        member_id = busiest_member(session)
        assert member_id is not None
        make_purchase(session, clock, member_id=member_id, lines=[line(unit_price_minor=40_000)])
        ledger.spend(session, member_id=member_id, points=10, key="spend:months-1", now=clock.now())
        session.commit()
        kept, whole = _both(session, clock)
        assert kept == whole
        clock.advance(timedelta(days=40))
        kept, whole = _both(session, clock)
        assert kept == whole

        # a purchase back-dated into a stored month: the figures are still the ledger's
        back = clock.now() - timedelta(days=120)
        make_purchase(
            session,
            clock,
            member_id=member_id,
            occurred_at=back,
            lines=[line(unit_price_minor=70_000)],
        )
        session.commit()
        late = session.scalars(select(Purchase).order_by(Purchase.id.desc()).limit(1)).one()
        assert late.occurred_at < local_midnight(mark.closed_before, ZoneInfo("Europe/Stockholm"))
        assert late.id > mark.purchase_id
        kept, whole = _both(session, clock)
        assert kept == whole
        assert session.scalar(select(func.count()).select_from(LedgerMonth)) == int(
            stored.split()[0]
        )


def test_the_worker_stores_the_months_once_a_day(session: Session) -> None:
    entry = next(e for e in DEFAULT if e.name == "ledger-months")
    assert entry.every == timedelta(days=1)
    key = tasks.scheduled_key(START.date())
    assert key == "ledger_months:scheduled:2026-03-02"
    assert tasks.enqueue(session, now=START, key=key) is not None
    assert tasks.enqueue(session, now=START, key=key) is None  # once a day
