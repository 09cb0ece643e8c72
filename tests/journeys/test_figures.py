"""A journey's figures on hand-made runs and purchases with known outcomes: the treated runs
against the held-out ones (the journey's holdout and the global control group; exempt runs
and runs not yet placed are in neither), conversions within the window only, revenue in
major units, and the lift with its intervals equal to ``insight.lift`` computed directly on
the same numbers — through the reads, the API and the CLI's JSON."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from lojal.activities.models import Purchase
from lojal.clock import FixedClock
from lojal.insight.lift import GroupOutcomes, Interval, Lift, lift_of_outcomes
from lojal.journeys import queries
from lojal.journeys import service as journeys
from lojal.journeys.definition import JourneyDefinition
from lojal.journeys.models import Journey, JourneyRun
from lojal.journeys.schemas import ComparisonRead, IntervalRead
from lojal.program.schemas import ProgramConfig
from tests.conftest import Api
from tests.journeys.crowd import add_members

WINDOW = timedelta(days=30)
# per run: its placement and the purchases (in öre) its member made within the window
TREATED = [[10000, 5000], [8000], [], [], [2050], []]
HELD_OUT = [("holdout", [3000]), ("holdout", []), ("holdout", []), ("global_control", [])]
HELD_OUT += [("global_control", [1500, 1500])]


def _journey(session: Session, now: datetime) -> Journey:
    definition = JourneyDefinition.model_validate(
        {
            "code": "mata",
            "name": "Mäta",
            "trigger": {"kind": "enrolled"},
            "conversion_days": 30,
            "steps": [{"send": {"channel": "inbox", "template": "t"}}],
            "templates": {"t": {"body": "Hej"}},
        }
    )
    return journeys.add(session, definition=definition, now=now)


def _runs(session: Session, journey: Journey, now: datetime) -> None:
    """The runs above, entered ``now``; and what must not count: purchases before entry and
    after the window, an exempt run and a run not yet placed, each with purchases."""
    entered = now - timedelta(days=40)
    placed: list[tuple[str | None, list[int]]] = [("treated", p) for p in TREATED]
    placed += [*HELD_OUT, ("exempt", [99900]), (None, [88800])]
    members = add_members(session, len(placed), now=entered - timedelta(days=400))
    runs, purchases = [], []
    for n, (member, (placement, amounts)) in enumerate(zip(members, placed, strict=True)):
        runs.append(
            {
                "journey_id": journey.id,
                "member_id": member,
                "occasion": "once",
                "cause": "enrolled",
                "state": "done" if placement else "entered",
                "held_out": placement in ("holdout", "global_control"),
                "placement": placement,
                "position": [],
                "wakes": 1,
                "next_at": None,
                "history": [],
                "context": {},
                "entered_at": entered,
                "converts_until": entered + WINDOW,
            }
        )
        times = [entered + timedelta(days=k + 1) for k in range(len(amounts))]
        outside = [entered - timedelta(seconds=1), entered + WINDOW]  # before, and at the end
        for k, (at, total) in enumerate(
            [*zip(times, amounts, strict=True), *((t, 77700) for t in outside)]
        ):
            purchases.append(
                {
                    "order_id": f"o-{n}-{k}",
                    "member_id": member,
                    "channel": "store",
                    "occurred_at": at,
                    "currency": "SEK",
                    "total_minor": total,
                    "points": 0,
                    "order_points": 0,
                    "attributes": {},
                    "recorded_at": at,
                }
            )
    session.execute(insert(JourneyRun), runs)
    session.execute(insert(Purchase), purchases)
    session.flush()


def _outcomes(groups: list[list[int]], group: str) -> GroupOutcomes:
    return GroupOutcomes.of(
        [1 if g else 0 for g in groups],
        [len(g) for g in groups],
        [sum(g) / 100 for g in groups],  # kronor
        group=group,
    )


def _expected(confidence: float = 0.95) -> Lift:
    """``insight.lift`` on the same numbers, member by member."""
    return lift_of_outcomes(
        _outcomes(TREATED, "treated"),
        _outcomes([p for _, p in HELD_OUT], "control"),
        currency="SEK",
        confidence=confidence,
    )


def _same_interval(got: IntervalRead | None, want: Interval | None) -> None:
    if want is None:
        assert got is None
        return
    assert got is not None
    assert (got.low, got.high) == pytest.approx((want.low, want.high), rel=1e-9, abs=1e-12)


def _same(got: ComparisonRead, want: Any) -> None:
    assert (got.treated, got.control, got.difference) == pytest.approx(
        (want.treated, want.control, want.difference), rel=1e-9, abs=1e-12
    )
    _same_interval(got.difference_interval, want.difference_interval)
    if want.relative is None:
        assert got.relative is None
    else:
        assert got.relative == pytest.approx(want.relative, rel=1e-9)
    _same_interval(got.relative_interval, want.relative_interval)


def test_figures_and_lift_of_hand_made_runs(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    journey = _journey(session, clock.now())
    _runs(session, journey, clock.now())
    figures = queries.figures(session, journey, now=clock.now())
    assert (figures.entered, figures.active, figures.held_out) == (13, 1, 5)
    assert (figures.global_control, figures.exempt, figures.currency) == (2, 1, "SEK")
    treated, control = figures.treated, figures.control
    assert (treated.runs, treated.converted, treated.purchases) == (6, 3, 4)
    assert (treated.revenue_minor, treated.revenue, treated.conversion_rate) == (25050, 250.5, 0.5)
    assert (control.runs, control.converted, control.purchases) == (5, 2, 3)
    assert (control.revenue_minor, control.revenue, control.conversion_rate) == (6000, 60.0, 0.4)
    assert (figures.converted, figures.revenue_minor, figures.revenue) == (3, 25050, 250.5)
    found = figures.lift
    assert found is not None
    want = _expected()
    assert (found.treated_members, found.control_members, found.currency) == (6, 5, "SEK")
    _same(found.conversion, want.conversion)
    _same(found.purchases, want.purchases)
    _same(found.revenue, want.revenue)
    assert found.incremental_revenue == pytest.approx(want.incremental_revenue, rel=1e-9)
    _same_interval(found.incremental_revenue_interval, want.incremental_revenue_interval)
    # the numbers themselves: 50 % against 40 %, 41.75 kr against 12 kr per member
    assert found.conversion.difference == pytest.approx(0.1)
    assert found.revenue.difference == pytest.approx(250.5 / 6 - 12.0)
    assert found.incremental_revenue == pytest.approx(250.5 - 6 * 12.0)
    narrower = queries.figures(session, journey, now=clock.now(), confidence=0.8).lift
    assert narrower is not None
    _same(narrower.conversion, _expected(0.8).conversion)
    low = narrower.conversion.difference_interval
    wide = found.conversion.difference_interval
    assert low is not None
    assert wide is not None
    assert wide.low < low.low < low.high < wide.high


def test_no_lift_until_both_groups_have_members(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    journey = _journey(session, clock.now())
    figures = queries.figures(session, journey, now=clock.now())
    assert (figures.treated.runs, figures.control.runs, figures.lift) == (0, 0, None)
    assert figures.treated.conversion_rate is None


def test_figures_through_the_api(api: Api, session: Session, clock: FixedClock) -> None:
    journey = _journey(session, clock.now())
    _runs(session, journey, clock.now())
    answer = api.get(f"/journeys/{journey.id}/figures")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["revenue"], body["currency"], body["treated"]["revenue"]) == (250.5, "SEK", 250.5)
    want = _expected()
    conversion = body["lift"]["conversion"]
    assert conversion["difference"] == pytest.approx(want.conversion.difference)
    interval = want.conversion.difference_interval
    assert interval is not None
    assert (
        conversion["difference_interval"]["low"],
        conversion["difference_interval"]["high"],
    ) == pytest.approx((interval.low, interval.high))
    assert body["lift"]["incremental_revenue"] == pytest.approx(want.incremental_revenue)
    at_80 = api.get(f"/journeys/{journey.id}/figures", params={"confidence": 0.8}).json()
    assert at_80["lift"]["confidence"] == 0.8
    bad = api.get(f"/journeys/{journey.id}/figures", params={"confidence": 2})
    assert bad.status_code == 422
    assert "confidence" in bad.text
