"""Reading the ledger for IFRS 15: cohorts by the club's month, their redemptions, expiries
and clawbacks by month, the members' sales, and the figures ``breakage.recognise`` makes of
them — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.ledger import service as ledger
from lojal.ledger.liability import Liability, read, read_kept
from lojal.program.schemas import ProgramConfig
from tests.factories import line, make_member, make_purchase, make_return


def _read(session: Session, config: ProgramConfig, until: date) -> Liability:
    return read(
        session,
        until=until,
        timezone=config.timezone,
        currency=config.currency,
        point_value=config.point_value,
    )


def test_cohorts_follow_their_points_and_the_allocation_is_recognised_as_they_go(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    member = make_member(session, clock)
    first = make_purchase(
        session, clock, member_id=member.id, lines=[line(unit_price_minor=10_000)]
    )
    assert first.row.points == 100  # one point a krona, 0.01 kr a point
    make_purchase(
        session, clock, order_id="back", member_id=member.id, lines=[line(unit_price_minor=5_000)]
    )
    make_return(session, clock, "back")  # 50 points taken back
    clock.advance(timedelta(days=20))
    ledger.spend(session, member_id=member.id, points=40, key="spend:test-1", now=clock.now())
    ledger.adjust(
        session,
        member_id=member.id,
        points=500,
        reason="goodwill",
        key="adjust:test-1",
        now=clock.now(),
        config=program,
    )
    clock.advance(timedelta(days=31))  # April
    make_purchase(session, clock, member_id=member.id, lines=[line(unit_price_minor=20_000)])
    session.flush()

    found = _read(session, program, date(2026, 4, 30))
    assert found.months == [date(2026, 3, 1), date(2026, 4, 1)]
    march, april = found.cohorts
    assert (march.month, march.issued, march.sales) == (0, 150, 15_000)
    assert list(march.taken_back) == [50, 0]
    assert list(march.redeemed) == [40, 0]  # the goodwill points are no cohort's
    assert (april.month, april.issued, april.sales) == (1, 200, 20_000)
    # No cohort has closed: the rate is the prudent 100 %, and March's allocation
    # (15,000 × 150 / 15,150 = 148.5 → 149 öre against 150 points) is recognised by
    # the 40 of the 100 points left that were redeemed.
    assert [r.rate for r in found.rates] == [1, 1]
    march_figures, april_figures = found.figures
    assert march_figures.allocated == 149
    assert march_figures.revenue == round(Fraction(149 * 40, 100))
    assert april_figures.allocated == round(Fraction(20_000 * 200, 20_200))
    assert april_figures.outstanding == 60 + 200
    assert april_figures.contract_liability == 149 + 198 - march_figures.revenue


def test_a_closed_cohort_is_recognised_in_full_and_sets_the_rate(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    member = make_member(session, clock)
    make_purchase(session, clock, member_id=member.id, lines=[line(unit_price_minor=10_000)])
    clock.advance(timedelta(days=20))
    ledger.spend(session, member_id=member.id, points=30, key="spend:test-2", now=clock.now())
    clock.advance(timedelta(days=366))  # past the 12 months: the other 70 expire
    ledger.expire_due(session, now=clock.now())
    session.flush()

    found = _read(session, program, date(2027, 3, 31))
    march = found.cohorts[0]
    assert sum(march.expired) == 70
    last = found.figures[-1]
    assert last.recognised == found.figures[0].allocated
    assert last.contract_liability == 0
    assert found.rates[-1].rate == Fraction(30, 100)
    assert found.rates[-1].closed_cohorts == 1
    assert found.rates[0].closed_cohorts == 0


def test_an_empty_ledger_has_one_month_of_nothing(session: Session, program: ProgramConfig) -> None:
    found = _read(session, program, date(2026, 3, 15))
    assert found.months == [date(2026, 3, 1)]
    assert found.cohorts == []
    assert found.figures[0].recognised == 0


def test_the_kept_figures_are_read_again_once_the_ledger_moves(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    member = make_member(session, clock)
    make_purchase(session, clock, member_id=member.id, lines=[line(unit_price_minor=10_000)])
    session.flush()
    args = {
        "until": date(2026, 3, 31),
        "timezone": program.timezone,
        "currency": program.currency,
        "point_value": program.point_value,
    }
    first = read_kept(session, **args)  # type: ignore[arg-type]
    assert read_kept(session, **args) is first  # type: ignore[arg-type]
    make_purchase(session, clock, member_id=member.id, lines=[line(unit_price_minor=10_000)])
    session.flush()
    again = read_kept(session, **args)  # type: ignore[arg-type]
    assert again is not first
    assert again.cohorts[0].issued == 200
