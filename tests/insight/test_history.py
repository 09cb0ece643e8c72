"""The summary read from the club's own purchases, on SQLite and PostgreSQL: same-day
purchases collapse by the club's local day, not the UTC date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.db.models import Base
from lojal.insight.history import calibration_and_holdout, member_summary, purchase_history
from lojal.program.schemas import ProgramConfig
from tests.factories import make_member, unique

STOCKHOLM = ZoneInfo("Europe/Stockholm")  # UTC+1 in winter


def _buy(session: Session, member_id: int | None, at: datetime, total_minor: int) -> None:
    purchases = Base.metadata.tables["purchases"]
    session.execute(
        insert(purchases).values(
            order_id=unique("insight"),
            member_id=member_id,
            identity_kind=None if member_id else "email",
            identity_value=None if member_id else "nobody@example.se",
            channel="store",
            occurred_at=at,
            currency="SEK",
            total_minor=total_minor,
            points=0,
            order_points=0,
            attributes={},
            recorded_at=at,
        )
    )


def test_summary_from_the_club_s_purchases(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    a = make_member(session, clock).id
    b = make_member(session, clock).id
    c = make_member(session, clock).id
    utc = UTC
    # a: 23:30 and 00:30 local on one UTC date are two local days (10 and 11 January)
    _buy(session, a, datetime(2026, 1, 10, 22, 30, tzinfo=utc), 10_000)
    _buy(session, a, datetime(2026, 1, 10, 23, 30, tzinfo=utc), 20_000)
    # ... and 00:10 local on 13 January (12 January in UTC) and 11:00 the same local day
    # are one transaction
    _buy(session, a, datetime(2026, 1, 12, 23, 10, tzinfo=utc), 30_000)
    _buy(session, a, datetime(2026, 1, 13, 10, 0, tzinfo=utc), 5_000)
    _buy(session, a, datetime(2026, 2, 5, 12, 0, tzinfo=utc), 7_000)  # holdout
    _buy(session, b, datetime(2026, 1, 20, 12, 0, tzinfo=utc), 4_000)
    _buy(session, c, datetime(2026, 2, 10, 12, 0, tzinfo=utc), 9_000)  # only after calibration
    _buy(session, None, datetime(2026, 1, 15, 12, 0, tzinfo=utc), 1_000)  # not a member
    # 23:30 UTC on 31 January is 1 February in Stockholm: after the calibration end
    _buy(session, b, datetime(2026, 1, 31, 23, 30, tzinfo=utc), 2_000)
    session.flush()

    end = date(2026, 1, 31)
    s = member_summary(session, calibration_end=end, zone=STOCKHOLM, unit_days=1)
    assert s.member_id.tolist() == sorted([a, b])
    row = {int(m): i for i, m in enumerate(s.member_id)}
    ia, ib = row[a], row[b]
    assert s.x[ia] == 2
    assert s.t_x[ia] == 3  # 10 → 13 January
    assert s.T[ia] == 21  # 10 → 31 January
    assert s.monetary[ia] == (20_000 + 35_000) / 2
    assert s.total[ia] == 65_000
    assert s.transactions[ia] == 3
    assert (s.x[ib], s.t_x[ib], s.T[ib], s.total[ib]) == (0, 0, 11, 4_000)

    summary, holdout = calibration_and_holdout(
        session, calibration_end=end, holdout_end=date(2026, 2, 28), zone=STOCKHOLM
    )
    np.testing.assert_array_equal(summary.member_id, s.member_id)
    assert summary.unit_days == 7
    assert holdout.purchases[ia] == 1
    assert holdout.purchases[ib] == 1  # the purchase of 1 February, local time
    assert holdout.value[ib] == 2_000
    assert holdout.length == 4

    everything = purchase_history(session, zone=STOCKHOLM)
    assert len(everything.member_id) == 7  # a: 4 days, b: 2, c: 1; the non-member left out
