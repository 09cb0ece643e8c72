"""The earning-rule engine, pure: facts and rules in, an award with its explanation out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from lojal.activities.events import LineFacts
from lojal.rules.engine import (
    Award,
    EventFacts,
    MemberFacts,
    PurchaseFacts,
    RuleSet,
    Stacking,
    award_event,
    award_purchase,
    cap_window,
    purchase_context,
)
from lojal.rules.schemas import Rule

RULES = TypeAdapter(list[Rule])
TZ = "Europe/Stockholm"
STOCKHOLM = ZoneInfo(TZ)
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BASE = {"id": "base", "kind": "base", "points": 1}
COFFEE = {"field": "line.category", "op": "eq", "value": "coffee"}


def ruleset(*rules: dict[str, Any], stacking: Stacking = "multiply") -> RuleSet:
    return RuleSet(RULES.validate_python(list(rules)), TZ, "SEK", stacking=stacking)


def item(
    sku: str = "SKU", total: int = 10_000, *, quantity: int = 1, category: str | None = None
) -> LineFacts:
    return LineFacts(sku, quantity, total // quantity, total, category=category)


def purchase(
    *lines: LineFacts, at: datetime = MONDAY, channel: str = "store", store_id: str | None = None
) -> PurchaseFacts:
    lines = lines or (item(),)
    return PurchaseFacts(at, channel, sum(x.total_minor for x in lines), lines, store_id=store_id)


def award(
    rs: RuleSet, p: PurchaseFacts, *, first: bool = False, used: dict[str, int] | None = None
) -> Award:
    return award_purchase(rs, p, MemberFacts(first_purchase=first), used)


def test_one_point_per_sek() -> None:
    a = award(ruleset(BASE), purchase(item(total=12_050)))
    assert a.points == 120  # 120.50 SEK rounds down once
    assert a.explanation == "120 points: 1 per SEK on SEK\xa0120.50"


def test_rounding_happens_once_per_purchase_not_per_line() -> None:
    lines = [item(f"S{i}", 150) for i in range(4)]  # 4 × 1.50 SEK
    a = award(ruleset(BASE), purchase(*lines))
    assert a.points == 6
    assert sum(a.line_points) == 6


def test_points_per_amount() -> None:
    rs = ruleset({"id": "base", "kind": "base", "points": 1, "per": 10})
    a = award(rs, purchase(item(total=25_900)))
    assert a.points == 25
    assert a.explanation == "25 points: 1 per 10 SEK on SEK\xa0259.00"


def test_first_matching_base_rule_wins_per_line() -> None:
    rs = ruleset({"id": "coffee-base", "kind": "base", "points": 3, "when": COFFEE}, BASE)
    a = award(rs, purchase(item("A", 1_000, category="coffee"), item("B", 1_000)))
    assert a.by_rule == {"coffee-base": 30, "base": 10}
    assert a.line_points == (30, 10)


def test_no_points_for_nothing() -> None:
    a = award(ruleset(BASE), purchase(item(total=0)))
    assert a.points == 0
    assert a.explanation == "0 points"


@pytest.mark.parametrize(
    ("when", "lines", "expected"),
    [
        (COFFEE, [item("A", 4_000, category="coffee"), item("B", 8_000)], 160),
        (
            {"field": "line.sku", "op": "in", "value": ["B"]},
            [item("A", 4_000), item("B", 8_000)],
            200,
        ),
        ({"field": "purchase.channel", "op": "eq", "value": "store"}, [item(total=5_000)], 100),
        ({"field": "purchase.store_id", "op": "eq", "value": "sthlm-1"}, [item(total=5_000)], 100),
        ({"field": "purchase.store_id", "op": "eq", "value": "gbg-1"}, [item(total=5_000)], 50),
    ],
)
def test_multiplier_by_category_sku_channel_store(
    when: dict[str, Any], lines: list[LineFacts], expected: int
) -> None:
    rs = ruleset(BASE, {"id": "double", "kind": "multiplier", "factor": 2, "when": when})
    assert award(rs, purchase(*lines, store_id="sthlm-1")).points == expected


def test_multiplier_on_another_channel_does_not_apply() -> None:
    rs = ruleset(
        BASE,
        {
            "id": "web",
            "kind": "multiplier",
            "factor": 3,
            "when": {"field": "purchase.channel", "op": "eq", "value": "web"},
        },
    )
    assert award(rs, purchase(item(total=5_000), channel="store")).points == 50
    assert award(rs, purchase(item(total=5_000), channel="web")).points == 150


WEEKEND = {
    "id": "weekend",
    "kind": "multiplier",
    "factor": 2,
    "name": "weekend",
    "when": {"field": "purchase.weekday", "op": "in", "value": ["sat", "sun"]},
}


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 3, 7, 12, 0, tzinfo=UTC), 200),  # Saturday
        (datetime(2026, 3, 8, 23, 30, tzinfo=UTC), 100),  # Sunday UTC, Monday 00:30 locally
        (datetime(2026, 3, 6, 23, 30, tzinfo=UTC), 200),  # Friday UTC, Saturday 00:30 locally
        (datetime(2026, 3, 8, 23, 59, tzinfo=UTC), 100),  # Monday 00:59 local (CET)
        (datetime(2026, 3, 8, 21, 59, tzinfo=UTC), 200),  # Sunday 22:59 local
        (datetime(2026, 6, 28, 21, 30, tzinfo=UTC), 200),  # summer: Sunday 23:30 local
        (datetime(2026, 6, 28, 22, 30, tzinfo=UTC), 100),  # summer: Monday 00:30 local
    ],
)
def test_weekend_double_points_use_the_club_time_zone(at: datetime, expected: int) -> None:
    a = award(ruleset(BASE, WEEKEND), purchase(item(total=10_000), at=at))
    assert a.points == expected


def test_purchase_context_weekday_and_hour_are_local() -> None:
    ctx = purchase_context(purchase(at=datetime(2026, 3, 8, 23, 30, tzinfo=UTC)), MemberFacts(), TZ)
    assert ctx["purchase"]["weekday"] == "mon"
    assert ctx["purchase"]["hour"] == 0


def test_minimum_spend_bonus() -> None:
    rs = ruleset(
        BASE,
        {
            "id": "big",
            "kind": "bonus",
            "points": 100,
            "name": "spend 500 SEK",
            "when": {"field": "purchase.total_minor", "op": "gte", "value": 50_000},
        },
    )
    assert award(rs, purchase(item(total=49_999))).points == 499
    a = award(rs, purchase(item(total=50_000)))
    assert a.points == 600
    assert a.order_points == 100
    assert a.explanation == "600 points: 1 per SEK on SEK\xa0500.00; +100 spend 500 SEK"


def test_bonus_without_name_reads_bonus() -> None:
    a = award(ruleset({"id": "b", "kind": "bonus", "points": 5}), purchase())
    assert a.explanation == "5 points: +5 bonus"


def test_first_purchase_bonus_only_on_the_first_purchase() -> None:
    rs = ruleset(BASE, {"id": "first", "kind": "first_purchase", "points": 50})
    assert award(rs, purchase(item(total=1_000)), first=True).points == 60
    assert award(rs, purchase(item(total=1_000)), first=False).points == 10


def test_explanation_reads_like_a_receipt() -> None:
    rs = ruleset(
        BASE,
        {"id": "coffee", "kind": "multiplier", "factor": 2, "when": COFFEE},
        {"id": "first", "kind": "first_purchase", "points": 50},
    )
    lines = (item("A", 4_000, category="coffee"), item("B", 8_000))
    a = award(rs, purchase(*lines), first=True)
    assert a.points == 210
    assert a.explanation == (
        "210 points: 1 per SEK on SEK\xa0120.00; ×2 on coffee; +50 first purchase bonus"
    )


def test_explanation_of_a_coffee_only_purchase() -> None:
    rs = ruleset(
        BASE,
        {"id": "coffee", "kind": "multiplier", "factor": 2, "when": COFFEE},
        {"id": "first", "kind": "first_purchase", "points": 50},
    )
    a = award(rs, purchase(item("A", 10_500, category="coffee"), item("B", 1_500)), first=True)
    assert a.explanation == (
        "275 points: 1 per SEK on SEK\xa0120.00; ×2 on coffee; +50 first purchase bonus"
    )


# ------------------------------------------------------------------ caps


def test_cap_limits_a_rule_per_period_given_what_was_used() -> None:
    rs = ruleset(
        BASE,
        {"id": "weekly", "kind": "bonus", "points": 40, "cap": {"points": 100, "period": "week"}},
    )
    assert award(rs, purchase(item(total=1_000))).by_rule["weekly"] == 40
    a = award(rs, purchase(item(total=1_000)), used={"weekly": 80})
    assert a.by_rule["weekly"] == 20
    assert "(capped)" in a.explanation
    a = award(rs, purchase(item(total=1_000)), used={"weekly": 100})
    assert "weekly" not in a.by_rule
    assert a.points == 10


def test_cap_on_a_base_rule_caps_its_line_points_exactly() -> None:
    rs = ruleset({**BASE, "cap": {"points": 150, "period": "month"}})
    a = award(rs, purchase(item("A", 10_000), item("B", 10_000)), used={"base": 20})
    assert a.points == 130
    assert sum(a.line_points) == 130
    assert a.explanation == "130 points: 1 per SEK on SEK\xa0200.00 (capped)"


def test_cap_does_not_touch_other_rules_used_amounts() -> None:
    rs = ruleset({**BASE, "cap": {"points": 50, "period": "day"}})
    assert award(rs, purchase(item(total=4_000)), used={"other": 1000}).points == 40


# ------------------------------------------------------------------ stacking


@pytest.mark.parametrize(("stacking", "expected"), [("multiply", 600), ("add", 400), ("max", 300)])
def test_stacking_modes(stacking: Stacking, expected: int) -> None:
    rs = ruleset(
        BASE,
        {"id": "x2", "kind": "multiplier", "factor": 2},
        {"id": "x3", "kind": "multiplier", "factor": 3, "when": COFFEE},
        stacking=stacking,
    )
    a = award(rs, purchase(item(total=10_000, category="coffee")))
    assert a.points == expected
    assert sum(a.line_points) == expected


def test_max_stacking_credits_the_biggest_multiplier() -> None:
    rs = ruleset(
        BASE,
        {"id": "x2", "kind": "multiplier", "factor": 2},
        {"id": "x3", "kind": "multiplier", "factor": 3},
        stacking="max",
    )
    assert award(rs, purchase()).by_rule == {"base": 100, "x3": 200}


def test_fractional_multiplier() -> None:
    rs = ruleset(BASE, {"id": "x15", "kind": "multiplier", "factor": "1.5", "name": "members"})
    a = award(rs, purchase(item(total=10_100)))
    assert a.points == 101 + 50  # 50.5 extra, rounded down
    assert "×1.5 members" in a.explanation


# ------------------------------------------------------------------ campaign windows


def test_valid_from_inclusive_valid_until_exclusive() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = datetime(2026, 3, 8, tzinfo=UTC)
    rs = ruleset(
        BASE,
        {
            "id": "campaign",
            "kind": "multiplier",
            "factor": 2,
            "valid_from": start.isoformat(),
            "valid_until": end.isoformat(),
        },
    )
    p = item(total=1_000)
    assert award(rs, purchase(p, at=start - timedelta(seconds=1))).points == 10
    assert award(rs, purchase(p, at=start)).points == 20
    assert award(rs, purchase(p, at=end - timedelta(seconds=1))).points == 20
    assert award(rs, purchase(p, at=end)).points == 10


def test_a_naive_window_is_taken_as_utc() -> None:
    rs = ruleset({**BASE, "valid_from": "2026-03-02T10:00:00"})
    assert award(rs, purchase(at=MONDAY)).points == 0
    assert award(rs, purchase(at=MONDAY + timedelta(hours=1))).points == 100


def test_window_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="valid_until must be after valid_from"):
        ruleset(
            {**BASE, "valid_from": "2026-03-02T10:00:00Z", "valid_until": "2026-03-02T10:00:00Z"}
        )


# ------------------------------------------------------------------ events


def test_event_rules() -> None:
    rs = ruleset(
        BASE,
        {"id": "review", "kind": "event", "event_type": "review_written", "points": 25},
        {
            "id": "long-review",
            "kind": "event",
            "event_type": "review_written",
            "points": 10,
            "name": "detailed review",
            "when": {"field": "event.properties.words", "op": "gte", "value": 100},
        },
        {"id": "survey", "kind": "event", "event_type": "survey_answered", "points": 5},
    )
    member = MemberFacts()
    short = award_event(rs, EventFacts("review_written", MONDAY, {"words": 20}), member)
    assert short.points == 25
    assert short.explanation == "25 points: +25 review written"
    long = award_event(rs, EventFacts("review_written", MONDAY, {"words": 300}), member)
    assert long.points == 35
    assert long.explanation == "35 points: +25 review written; +10 detailed review"
    assert award_event(rs, EventFacts("app_opened", MONDAY), member).points == 0


def test_event_rule_cap_and_window() -> None:
    rs = ruleset(
        {
            "id": "review",
            "kind": "event",
            "event_type": "review_written",
            "points": 25,
            "cap": {"points": 30, "period": "month"},
            "valid_until": "2026-04-01T00:00:00Z",
        }
    )
    facts = EventFacts("review_written", MONDAY)
    assert award_event(rs, facts, MemberFacts(), {"review": 10}).points == 20
    assert award_event(rs, facts, MemberFacts(), {"review": 30}).points == 0
    late = EventFacts("review_written", datetime(2026, 4, 1, tzinfo=UTC))
    assert award_event(rs, late, MemberFacts()).points == 0


# ------------------------------------------------------------------ allocation


@given(
    totals=st.lists(st.integers(0, 50_000), min_size=1, max_size=8),
    factor=st.sampled_from(["1.5", "2", "3", "1.25"]),
    categories=st.lists(st.sampled_from(["coffee", "tea", None]), min_size=8, max_size=8),
    bonus=st.booleans(),
)
def test_line_points_add_up_to_the_award(
    totals: list[int], factor: str, categories: list[str | None], bonus: bool
) -> None:
    rs = ruleset(
        {"id": "base", "kind": "base", "points": "1.3"},
        {"id": "m", "kind": "multiplier", "factor": factor, "when": COFFEE},
        *([{"id": "b", "kind": "bonus", "points": 7}] if bonus else []),
    )
    lines = [item(f"S{i}", t, category=categories[i]) for i, t in enumerate(totals)]
    a = award(rs, purchase(*lines))
    assert sum(a.line_points) + a.order_points == a.points
    assert sum(p.points for p in a.parts) == a.points
    assert all(p >= 0 for p in a.line_points)
    assert a.order_points == (7 if bonus else 0)


def test_allocation_is_by_largest_remainder() -> None:
    # 3 equal lines of 1 SEK at 0.5 points each: 1.5 → 1 point, given to the first line.
    rs = ruleset({"id": "base", "kind": "base", "points": "0.5"})
    a = award(rs, purchase(item("A", 100), item("B", 100), item("C", 100)))
    assert a.points == 1
    assert a.line_points == (1, 0, 0)
    rs = ruleset(BASE)
    a = award(rs, purchase(item("A", 150), item("B", 150), item("C", 170)))  # 4.7 → 4
    assert a.line_points == (1, 1, 2)


# ------------------------------------------------------------------ cap windows


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=STOCKHOLM).astimezone(UTC)


def test_cap_window_lifetime_is_unbounded() -> None:
    assert cap_window("lifetime", MONDAY, TZ) is None


@pytest.mark.parametrize(
    ("period", "at", "start", "end"),
    [
        ("day", datetime(2026, 3, 8, 23, 30, tzinfo=UTC), local(2026, 3, 9), local(2026, 3, 10)),
        ("day", datetime(2026, 3, 29, 12, tzinfo=UTC), local(2026, 3, 29), local(2026, 3, 30)),
        ("week", datetime(2026, 3, 8, 22, 59, tzinfo=UTC), local(2026, 3, 2), local(2026, 3, 9)),
        ("week", datetime(2026, 3, 8, 23, 0, tzinfo=UTC), local(2026, 3, 9), local(2026, 3, 16)),
        ("month", datetime(2026, 3, 31, 22, 0, tzinfo=UTC), local(2026, 4, 1), local(2026, 5, 1)),
        ("month", datetime(2026, 3, 31, 21, 59, tzinfo=UTC), local(2026, 3, 1), local(2026, 4, 1)),
        ("month", datetime(2026, 12, 15, tzinfo=UTC), local(2026, 12, 1), local(2027, 1, 1)),
        ("year", datetime(2026, 12, 31, 23, 0, tzinfo=UTC), local(2027, 1, 1), local(2028, 1, 1)),
        ("year", datetime(2026, 12, 31, 22, 59, tzinfo=UTC), local(2026, 1, 1), local(2027, 1, 1)),
    ],
)
def test_cap_window_boundaries_are_local(
    period: str, at: datetime, start: datetime, end: datetime
) -> None:
    window = cap_window(period, at, TZ)
    assert window == (start, end)
    assert window[0] <= at < window[1]


def test_cap_window_of_a_dst_day_is_23_hours() -> None:
    window = cap_window("day", datetime(2026, 3, 29, 12, tzinfo=UTC), TZ)
    assert window is not None
    assert window[1] - window[0] == timedelta(hours=23)


def test_cap_window_unknown_period() -> None:
    with pytest.raises(ValueError, match="fortnight"):
        cap_window("fortnight", MONDAY, TZ)
