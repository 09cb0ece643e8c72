"""A journey's definition (pure): what is refused when saved, and a run's way through its
steps and branches; quiet hours in club time; the stable control buckets."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from lojal.journeys.control import assign_bucket
from lojal.journeys.definition import JourneyDefinition, after, into, label, step_at
from lojal.journeys.policy import Rules, parse_hhmm, quiet_end

ZONE = ZoneInfo("Europe/Stockholm")


def _journey(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "j",
        "name": "J",
        "trigger": {"kind": "enrolled"},
        "steps": [{"send": {"channel": "email", "template": "hej"}}],
        "templates": {"hej": {"subject": "Hej", "body": "Hej {{ member.first_name }}"}},
    }
    data.update(kw)
    return data


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"trigger": {"kind": "birthday", "days": 3}}, "takes no 'days'"),
        ({"trigger": {"kind": "points_expiring"}}, "needs 'days'"),
        ({"trigger": {"kind": "event"}}, "needs 'event_type'"),
        ({"trigger": {"kind": "segment_entered"}}, "needs 'segment'"),
        ({"trigger": {"kind": "purchase", "to": ["guld"]}}, "tier_changed"),
        ({"steps": [{"send": {"channel": "email", "template": "nej"}}]}, "'nej' is not in"),
        ({"steps": [{"wait": {}}]}, "days, hours or minutes"),
        ({"steps": [{"wait": {"days": 1}, "send": {}}]}, "exactly one of the keys"),
        ({"templates": {"hej": {"body": "{% if %}"}}}, "does not compile"),
        ({"holdout_percent": 60}, "less than or equal to 50"),
        ({"audience": {"field": "member.tierr", "op": "eq", "value": "x"}}, "member.tierr"),
    ],
)
def test_a_definition_that_does_not_hold_is_refused_with_the_reason(
    change: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        JourneyDefinition.model_validate(_journey(**change))
    assert says in str(refused.value)


def test_a_run_walks_the_steps_into_and_out_of_branches() -> None:
    definition = JourneyDefinition.model_validate(
        _journey(
            steps=[
                {"wait": {"days": 1}},
                {
                    "branch": {
                        "when": {"field": "member.tier", "op": "eq", "value": "guld"},
                        "then": [
                            {"points": {"points": 10}},
                            {
                                "branch": {
                                    "when": {"activity": "purchases", "measure": "exists"},
                                    "else": [{"attribute": {"key": "k", "value": 1}}],
                                }
                            },
                        ],
                    }
                },
                {"send": {"channel": "email", "template": "hej"}},
            ]
        )
    )
    steps = definition.steps
    assert after(steps, (0,)) == (1,)
    assert into(steps, (1,), 0) == (1, 0, 0)
    assert into(steps, (1,), 1) == (2,)  # an empty else: on after the branch
    assert after(steps, (1, 0, 0)) == (1, 0, 1)
    assert into(steps, (1, 0, 1), 0) == (2,)  # empty then, out of both branches
    assert into(steps, (1, 0, 1), 1) == (1, 0, 1, 1, 0)
    assert after(steps, (1, 0, 1, 1, 0)) == (2,)
    assert after(steps, (2,)) is None
    assert label((1, 0, 1, 1, 0)) == "1.then.1.else.0"
    assert step_at(steps, (3,)) is None
    # what is saved is what was given
    assert definition.dump()["steps"][1]["branch"]["then"][1]["branch"]["else"] == [
        {"attribute": {"key": "k", "value": 1}}
    ]
    assert JourneyDefinition.model_validate(definition.dump()) == definition


def test_quiet_hours_end_at_the_same_wall_clock_time_across_daylight_saving() -> None:
    night = Rules(quiet_from=time(21), quiet_until=time(8))
    # the night into 29 March 2026 (clocks forward at 02:00): 08:00 summer time is 06:00 UTC
    assert night.quiet_end(datetime(2026, 3, 28, 22, 30, tzinfo=UTC), ZONE) == datetime(
        2026, 3, 29, 6, 0, tzinfo=UTC
    )
    # the night into 25 October 2026 (clocks back): 08:00 winter time is 07:00 UTC
    assert night.quiet_end(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), ZONE) == datetime(
        2026, 10, 25, 7, 0, tzinfo=UTC
    )
    assert night.quiet_end(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), ZONE) is None  # 11:00
    assert night.quiet_end(datetime(2026, 3, 2, 19, 59, tzinfo=UTC), ZONE) is None  # 20:59
    assert night.quiet_end(datetime(2026, 3, 2, 20, 0, tzinfo=UTC), ZONE) == datetime(
        2026, 3, 3, 7, 0, tzinfo=UTC
    )
    assert night.quiet_end(datetime(2026, 3, 3, 7, 0, tzinfo=UTC), ZONE) is None  # 08:00
    lunch = Rules(quiet_from=time(12), quiet_until=time(13))
    assert lunch.quiet_end(datetime(2026, 3, 2, 11, 30, tzinfo=UTC), ZONE) == datetime(
        2026, 3, 2, 12, 0, tzinfo=UTC
    )
    assert quiet_end(datetime(2026, 3, 2, 11, 30, tzinfo=UTC), ZONE, time(9), time(9)) is None
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm("24:00")


def test_control_buckets_are_stable_spread_and_salted() -> None:
    buckets = [assign_bucket(str(n), "journey:a") for n in range(20_000)]
    assert buckets == [assign_bucket(str(n), "journey:a") for n in range(20_000)]
    assert all(0 <= b < 1 for b in buckets)
    share = sum(b < 0.1 for b in buckets) / len(buckets)
    assert 0.09 < share < 0.11
    other = [assign_bucket(str(n), "journey:b") for n in range(20_000)]
    both = sum(a < 0.1 and b < 0.1 for a, b in zip(buckets, other, strict=True))
    assert both < 400  # independent: about 1 % of members in both tenths, not 10 %
