"""Days in the club's time zone, birthdays on 29 February, anniversaries: both readers agree
on the boundaries (``helpers.holding``), and the pure pieces say what they mean."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.program.schemas import ProgramConfig
from lojal.segments import timing
from lojal.segments.definition import dump_definition, parse_definition, reads
from tests.factories import make_member, make_purchase
from tests.segments.helpers import holding


def test_29_february_is_celebrated_on_28_february_without_a_leap_day() -> None:
    leap_day = date(2000, 2, 29)
    assert timing.celebrated(leap_day, 2027) == date(2027, 2, 28)
    assert timing.celebrated(leap_day, 2028) == date(2028, 2, 29)
    assert timing.birthday_month_days([date(2027, 2, 28)]) == ["02-28", "02-29"]
    assert timing.birthday_month_days([date(2028, 2, 28)]) == ["02-28"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2027-02-28T09:00", True),  # no 29th in 2027: the 28th
        ("2027-03-01T09:00", False),
        ("2028-02-28T09:00", False),  # 2028 has its own 29th
        ("2028-02-29T09:00", True),
        ("2027-02-27T23:30", True),  # 00:30 on the 28th in Stockholm
    ],
)
def test_a_leap_day_birthday_on_both_readers(
    session: Session, clock: FixedClock, program: ProgramConfig, now: str, expected: bool
) -> None:
    member = make_member(session, clock, birth_date="2000-02-29")
    today = {"birthday": {"in_days": [0, 0]}}
    assert holding(session, today, now=at(now)) == ({member.id} if expected else set())


def test_anniversaries_are_the_local_day_of_enrolment_a_year_or_more_on(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    leap = make_member(session, clock, enrolled_at="2024-02-29T12:00:00+00:00")
    # 23:30 UTC on 1 March is 00:30 on 2 March in Stockholm
    late = make_member(session, clock, enrolled_at="2025-03-01T23:30:00+00:00")
    new = make_member(session, clock, enrolled_at="2026-03-02T08:00:00+00:00")
    week = {"anniversary": {"in_days": [0, 6]}}
    assert holding(session, week, now=at("2026-03-02T09:00")) == {late.id}
    assert holding(session, {"anniversary": {"in_days": [-2, 0]}}, now=at("2025-03-01T09:00")) == {
        leap.id
    }
    assert holding(session, {"anniversary": {"in_days": [0, 0]}}, now=at("2027-03-02T09:00")) == {
        late.id,
        new.id,
    }


def test_days_begin_at_the_clubs_midnight(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    today, yesterday = make_member(session, clock), make_member(session, clock)
    # the clock: Monday 2 March 2026 09:00 UTC (10:00 in Stockholm)
    make_purchase(session, clock, member_id=today.id, occurred_at="2026-03-01T23:30:00+00:00")
    make_purchase(session, clock, member_id=yesterday.id, occurred_at="2026-03-01T22:59:00+00:00")
    now = clock.now()

    def bought(window: dict[str, Any]) -> set[int]:
        return holding(
            session, {"activity": "purchases", "measure": "exists", "within": window}, now=now
        )

    assert bought({"last_days": 1}) == {today.id}
    assert bought({"days_ago": [1, 1]}) == {yesterday.id}
    assert bought({"last_days": 2}) == {today.id, yesterday.id}
    assert bought({"from": "2026-03-02"}) == {today.id}
    assert bought({"until": "2026-03-01"}) == {yesterday.id}


def test_what_a_definition_reads() -> None:
    definition = parse_definition(
        {
            "all": [
                {"field": "member.tier", "op": "eq", "value": "gold"},
                {
                    "activity": "events",
                    "measure": "exists",
                    "where": {
                        "field": "event.type",
                        "op": "in",
                        "value": ["email_open", "email_click"],
                    },
                },
                {"activity": "purchases", "measure": "exists", "within": {"from": "2026-01-01"}},
                {"not": {"field": "member.points", "op": "lt", "value": 100}},
            ]
        }
    )
    assert reads(definition) == [
        "event:email_click",
        "event:email_open",
        "points",
        "purchases",
        "tier",
    ]
    assert "time" in reads(
        parse_definition({"activity": "returns", "measure": "none", "within": {"last_days": 30}})
    )


def test_a_definition_dumps_as_it_was_given() -> None:
    given: dict[str, Any] = {
        "any": [
            {
                "activity": "lines",
                "measure": "sum",
                "of": "line.quantity",
                "op": "between",
                "value": [2, 5],
                "within": {"days_ago": [30, 60]},
            },
            {"not": {"birthday": {"in_days": [-3, 3]}}},
            {
                "top": {
                    "percent": 10.0,
                    "by": {"activity": "purchases", "measure": "sum", "of": "purchase.total_minor"},
                }
            },
        ]
    }
    assert dump_definition(parse_definition(given)) == given


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"activity": "events", "measure": "sum", "of": "event.type", "op": "gt", "value": 1},
            "is not a number of events",
        ),
        ({"activity": "purchases", "measure": "count"}, "needs op and value"),
        (
            {"activity": "purchases", "measure": "count", "op": "contains", "value": 1},
            "a measure compares with one of",
        ),
        (
            {"activity": "purchases", "measure": "count", "op": "gt", "value": "2"},
            "compared with numbers",
        ),
        ({"activity": "purchases", "measure": "last"}, "needs 'in'"),
        ({"activity": "purchases", "measure": "exists", "op": "gt", "value": 1}, "takes no op"),
        ({"birthday": {"in_days": [5, 1]}}, "in_days is [from, to]"),
        (
            {"activity": "events", "measure": "exists", "within": {"days_ago": [9, 3]}},
            "days_ago is [fewest, most]",
        ),
        ({"top": {"percent": 0, "by": {"activity": "purchases"}}}, "greater than 0"),
        ({"date": "member.tier", "within": {"last_days": 1}}, "Input should be"),
    ],
)
def test_refusals_say_what_is_wrong(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_definition(data)
    assert message in str(caught.value)
