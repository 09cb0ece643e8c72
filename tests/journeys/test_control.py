"""Control groups: stable random buckets, households, the sizing rules, the monthly reshuffle
and the exemption of transactional messages."""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from lojal.journeys.control import (
    MAX_CONTROL_PERCENT,
    MIN_CONTROL_MEMBERS,
    ControlGroupInvalid,
    ControlSettings,
    HoldoutSettings,
    Placement,
    assign_bucket,
    check_change,
    household_key,
    in_global_control,
    in_holdout,
    place,
    reshuffled,
    sized_percent,
)

CLUB = ControlSettings(salt="club-secret", percent=5, drawn_on=date(2026, 1, 31))
WELCOME = HoldoutSettings(journey_key="17", percent=10)
HOUSEHOLDS = [f"member:{i}" for i in range(100_000)]


def test_the_bucket_is_the_documented_hash() -> None:
    """Pinned: changing the construction would move every club's members between groups."""
    for key, salt in [("member:1", "s"), ("email:anna@example.se", "global:2026-01-31:x")]:
        salt_bytes = salt.encode()
        digest = hashlib.blake2b(
            len(salt_bytes).to_bytes(4, "big") + salt_bytes + key.encode(), digest_size=8
        ).digest()
        assert assign_bucket(key, salt) == (int.from_bytes(digest, "big") >> 11) / 2**53
    assert assign_bucket("member:1", "s") == assign_bucket("member:1", "s")
    assert assign_bucket("member:1", "s") != assign_bucket("member:1", "t")
    # the length prefix keeps a salt's end from being read as the key's start
    assert assign_bucket("c", "ab") != assign_bucket("bc", "a")


@given(key=st.text(), salt=st.text())
def test_a_bucket_is_in_the_unit_interval(key: str, salt: str) -> None:
    assert 0 <= assign_bucket(key, salt) < 1


def test_buckets_are_uniform() -> None:
    buckets = np.array([assign_bucket(key, "uniform") for key in HOUSEHOLDS])
    counts, _ = np.histogram(buckets, bins=20, range=(0, 1))
    assert stats.chisquare(counts).pvalue > 0.001
    # 5 % of 100,000: 5,000 with a standard deviation of about 69
    assert abs(int((buckets < 0.05).sum()) - 5_000) < 300


def test_the_global_group_and_a_holdout_are_independent() -> None:
    in_global = np.array([in_global_control(key, CLUB) for key in HOUSEHOLDS])
    in_journey = np.array([in_holdout(key, CLUB, WELCOME) for key in HOUSEHOLDS])
    assert abs(in_global.mean() - 0.05) < 0.003
    assert abs(in_journey.mean() - 0.10) < 0.004
    # the holdout is 10 % of the global group as of everyone else
    assert abs(in_journey[in_global].mean() - 0.10) < 0.02
    assert abs(in_journey[~in_global].mean() - 0.10) < 0.005
    # another journey holds out other members
    other = HoldoutSettings(journey_key="18", percent=10)
    overlap = np.array([in_holdout(key, CLUB, other) for key in HOUSEHOLDS])
    assert abs(overlap[in_journey].mean() - 0.10) < 0.015


def test_placement() -> None:
    placements = [place(key, CLUB, WELCOME) for key in HOUSEHOLDS[:20_000]]
    counts = {kind: placements.count(kind) for kind in Placement}
    assert counts[Placement.EXEMPT] == 0
    assert abs(counts[Placement.GLOBAL_CONTROL] - 1_000) < 100
    assert abs(counts[Placement.HOLDOUT] - 1_900) < 150
    for key, where in zip(HOUSEHOLDS, placements, strict=False):
        # the global control group comes first: its members get no journey's messages
        if in_global_control(key, CLUB):
            assert where is Placement.GLOBAL_CONTROL
            assert place(key, CLUB) is Placement.GLOBAL_CONTROL
        assert where.held_out == (where is not Placement.TREATED)
        # transactional messages reach everyone, the control groups included
        assert place(key, CLUB, WELCOME, transactional=True) is Placement.EXEMPT
        assert not Placement.EXEMPT.held_out
    # without a holdout only the global group is held out
    assert Placement.HOLDOUT not in {place(key, CLUB) for key in HOUSEHOLDS[:2_000]}


def test_percent_zero_holds_out_nobody() -> None:
    nobody = ControlSettings(salt="s", percent=0, drawn_on=date(2026, 1, 1))
    none_held = HoldoutSettings(journey_key="1", percent=0)
    assert {place(key, nobody, none_held) for key in HOUSEHOLDS[:5_000]} == {Placement.TREATED}


def test_households_share_an_email() -> None:
    assert household_key(7, " Anna.Berg@Example.SE ") == "email:anna.berg@example.se"
    assert household_key(8, "anna.berg@example.se") == household_key(7, "Anna.Berg@example.se")
    assert household_key(7, None) == "member:7"
    assert household_key(7, "  ") == "member:7"
    assert household_key(7, None) != household_key(8, None)


@settings(max_examples=100)
@given(
    first=st.integers(1, 10**9),
    second=st.integers(1, 10**9),
    email=st.emails(),
    percent=st.floats(0, MAX_CONTROL_PERCENT),
    holdout=st.floats(0, MAX_CONTROL_PERCENT),
    salt=st.text(min_size=1),
)
def test_members_who_share_an_email_are_placed_together(
    first: int, second: int, email: str, percent: float, holdout: float, salt: str
) -> None:
    club = ControlSettings(salt=salt, percent=percent, drawn_on=date(2026, 3, 1))
    journey = HoldoutSettings(journey_key="9", percent=holdout)
    one = place(household_key(first, email), club, journey)
    other = place(household_key(second, email.upper()), club, journey)
    assert one is other


@pytest.mark.parametrize("percent", [-1, 10.01, 50, float("nan"), float("inf")])
def test_a_percent_outside_0_to_10_is_refused(percent: float) -> None:
    with pytest.raises(ControlGroupInvalid) as caught:
        ControlSettings(salt="s", percent=percent, drawn_on=date(2026, 1, 1))
    assert caught.value.field == "control_percent"
    assert "control_percent" in caught.value.detail
    assert "at most 10 %" in caught.value.detail
    with pytest.raises(ControlGroupInvalid) as caught:
        HoldoutSettings(journey_key="1", percent=percent)
    assert caught.value.field == "holdout_percent"
    with pytest.raises(ControlGroupInvalid) as caught:
        sized_percent(percent, 1_000_000, field="holdout_percent")
    assert caught.value.field == "holdout_percent"


def test_empty_names_are_refused() -> None:
    with pytest.raises(ControlGroupInvalid) as caught:
        ControlSettings(salt="", percent=5, drawn_on=date(2026, 1, 1))
    assert caught.value.field == "control_salt"
    with pytest.raises(ControlGroupInvalid) as caught:
        HoldoutSettings(journey_key="", percent=5)
    assert caught.value.field == "journey_key"


def test_a_group_holds_at_least_a_thousand_members() -> None:
    assert MIN_CONTROL_MEMBERS == 1_000
    assert sized_percent(5, 20_000, field="holdout_percent") == 5
    assert sized_percent(10, 10_000, field="holdout_percent") == 10
    assert sized_percent(0, 50, field="holdout_percent") == 0
    with pytest.raises(ControlGroupInvalid) as caught:
        sized_percent(5, 15_000, field="holdout_percent")
    assert caught.value.field == "holdout_percent"
    assert "fewer than the 1,000" in caught.value.detail
    assert "at least 6.67 %" in caught.value.detail
    # clamped: the smallest percent (in hundredths) that reaches 1,000 members
    clamped = sized_percent(5, 15_000, field="holdout_percent", clamp=True)
    assert clamped == 6.67
    assert 15_000 * clamped / 100 >= 1_000
    assert 15_000 * (clamped - 0.01) / 100 < 1_000
    assert sized_percent(2.5, 40_000, field="control_percent", clamp=True) == 2.5


@pytest.mark.parametrize("clamp", [False, True])
def test_an_audience_under_ten_thousand_has_no_control_group(clamp: bool) -> None:
    for audience in (0, 1, 9_999):
        with pytest.raises(ControlGroupInvalid) as caught:
            sized_percent(10, audience, field="control_percent", clamp=clamp)
        assert caught.value.field == "control_percent"
        assert "at least 10,000" in caught.value.detail
    with pytest.raises(ControlGroupInvalid) as caught:
        sized_percent(5, -1, field="control_percent")
    assert caught.value.field == "audience"


@settings(max_examples=300)
@given(percent=st.floats(0.01, 10), audience=st.integers(1, 10**8))
def test_a_clamped_percent_follows_both_rules(percent: float, audience: int) -> None:
    try:
        result = sized_percent(percent, audience, field="holdout_percent", clamp=True)
    except ControlGroupInvalid:
        assert audience * MAX_CONTROL_PERCENT / 100 < MIN_CONTROL_MEMBERS
        return
    assert percent <= result <= MAX_CONTROL_PERCENT
    assert audience * result / 100 >= MIN_CONTROL_MEMBERS * (1 - 1e-12)


def test_reshuffled_at_most_once_a_month() -> None:
    assert CLUB.period == "2026-01-31"
    assert CLUB.earliest_reshuffle == date(2026, 2, 28)
    for too_soon in (date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 27), date(2025, 12, 1)):
        with pytest.raises(ControlGroupInvalid) as caught:
            reshuffled(CLUB, too_soon)
        assert caught.value.field == "control_drawn_on"
        assert "2026-02-28" in caught.value.detail
    again = reshuffled(CLUB, date(2026, 2, 28))
    assert again.period == "2026-02-28"
    assert (again.salt, again.percent) == (CLUB.salt, CLUB.percent)
    leap = ControlSettings(salt="s", percent=5, drawn_on=date(2028, 1, 31))
    assert leap.earliest_reshuffle == date(2028, 2, 29)
    assert reshuffled(leap, date(2028, 2, 29)).drawn_on == date(2028, 2, 29)


def test_a_reshuffle_moves_members() -> None:
    before = {key for key in HOUSEHOLDS if in_global_control(key, CLUB)}
    march = reshuffled(CLUB, date(2026, 3, 1))
    after = {key for key in HOUSEHOLDS if in_global_control(key, march)}
    assert abs(len(after) - 5_000) < 300
    # a new draw is independent of the last: about 5 % of the old group stays in it
    assert len(before & after) < 0.1 * len(before)


def test_a_new_percent_or_salt_waits_for_the_next_draw() -> None:
    check_change(None, CLUB)
    check_change(CLUB, CLUB)
    more = ControlSettings(salt=CLUB.salt, percent=8, drawn_on=CLUB.drawn_on)
    with pytest.raises(ControlGroupInvalid) as caught:
        check_change(CLUB, more)
    assert caught.value.field == "control_drawn_on"
    assert "new draw" in caught.value.detail
    secret = ControlSettings(salt="other", percent=5, drawn_on=date(2026, 2, 10))
    with pytest.raises(ControlGroupInvalid):
        check_change(CLUB, secret)
    check_change(CLUB, ControlSettings(salt="other", percent=8, drawn_on=date(2026, 3, 1)))
