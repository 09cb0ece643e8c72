"""The ledger's pure core: every builder balances, spends take the oldest points first, a
return claws back in the documented order, and expiry dates follow the club's calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lojal.errors import Invalid
from lojal.ledger import entries
from lojal.ledger.entries import (
    MEMBER_AVAILABLE,
    MEMBER_PENDING,
    PROGRAM_ADJUSTED,
    PROGRAM_EXPIRED,
    PROGRAM_ISSUED,
    PROGRAM_REDEEMED,
    InsufficientPoints,
    Leg,
    Lot,
    UnbalancedEntry,
    check_balanced,
    expiry_for,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def lot(id: int, remaining: int, *, state: str = "available", days: int = 0) -> Lot:
    return Lot(id, state, remaining, T0 + timedelta(days=days))


def total(legs: list[Leg]) -> int:
    return sum(leg.amount for leg in legs)


# ------------------------------------------------------------------ balancing


@pytest.mark.parametrize("pending", [True, False])
def test_earn_balances_against_issued(pending: bool) -> None:
    legs = entries.earn(120, pending=pending)
    check_balanced(legs)
    account = MEMBER_PENDING if pending else MEMBER_AVAILABLE
    assert legs == [Leg(account, 120), Leg(PROGRAM_ISSUED, -120)]


def test_grant_is_available_at_once_against_adjusted() -> None:
    legs = entries.grant(50)
    check_balanced(legs)
    assert legs == [Leg(MEMBER_AVAILABLE, 50), Leg(PROGRAM_ADJUSTED, -50)]


def test_activate_moves_a_lot_from_pending_to_available() -> None:
    legs = entries.activate(lot(7, 30, state="pending"))
    check_balanced(legs)
    assert legs == [Leg(MEMBER_PENDING, -30, 7), Leg(MEMBER_AVAILABLE, 30, 7)]


@pytest.mark.parametrize(
    ("state", "account"), [("pending", MEMBER_PENDING), ("available", MEMBER_AVAILABLE)]
)
def test_expire_takes_what_is_left_of_the_lot(state: str, account: str) -> None:
    legs = entries.expire(lot(3, 40, state=state))
    check_balanced(legs)
    assert legs == [Leg(account, -40, 3), Leg(PROGRAM_EXPIRED, 40)]


@pytest.mark.parametrize("points", [0, -5])
@pytest.mark.parametrize("builder", [entries.earn, entries.grant])
def test_points_must_be_positive(builder, points: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid, match="positive"):
        builder(points)


def test_spend_and_clawback_refuse_non_positive_points() -> None:
    with pytest.raises(Invalid):
        entries.spend([lot(1, 10)], 0)
    with pytest.raises(Invalid):
        entries.clawback(None, [lot(1, 10)], -1)


def test_check_balanced_refuses_bad_entries() -> None:
    with pytest.raises(UnbalancedEntry, match="sum to 5"):
        check_balanced([Leg(MEMBER_AVAILABLE, 10), Leg(PROGRAM_ISSUED, -5)])
    with pytest.raises(UnbalancedEntry, match="zero"):
        check_balanced([Leg(MEMBER_AVAILABLE, 0), Leg(PROGRAM_ISSUED, 0)])
    with pytest.raises(UnbalancedEntry, match="unknown account"):
        check_balanced([Leg("member_wallet", 10), Leg(PROGRAM_ISSUED, -10)])
    check_balanced([])  # nothing to post is balanced


lots_strategy = st.lists(
    st.builds(
        lambda i, r, s, d: Lot(i, s, r, T0 + timedelta(days=d)),
        st.integers(1, 10_000),
        st.integers(0, 500),
        st.sampled_from(["pending", "available"]),
        st.integers(0, 400),
    ),
    max_size=8,
    unique_by=lambda x: x.id,
)


@given(lots=lots_strategy, points=st.integers(1, 3000))
def test_spend_always_balances_or_refuses(lots: list[Lot], points: int) -> None:
    available = sum(x.remaining for x in lots if x.state == "available")
    if points > available:
        with pytest.raises(InsufficientPoints) as info:
            entries.spend(lots, points)
        assert info.value.context["available"] == available
        return
    legs = entries.spend(lots, points)
    check_balanced(legs)
    assert legs[-1] == Leg(PROGRAM_REDEEMED, points)
    by_id = {x.id: x for x in lots}
    for leg in legs[:-1]:
        assert leg.account == MEMBER_AVAILABLE
        assert leg.amount < 0
        assert by_id[leg.lot_id].state == "available"  # type: ignore[index]
        assert -leg.amount <= by_id[leg.lot_id].remaining  # type: ignore[index]


@given(
    own=st.none() | lots_strategy.map(lambda xs: xs[0] if xs else None),
    others=lots_strategy,
    points=st.integers(1, 3000),
)
def test_clawback_always_balances_and_never_goes_below_zero(
    own: Lot | None, others: list[Lot], points: int
) -> None:
    others = [x for x in others if own is None or x.id != own.id]
    legs, short = entries.clawback(own, others, points)
    if legs:
        check_balanced(legs)
    everything = (own.remaining if own else 0) + sum(x.remaining for x in others)
    assert short == max(0, points - everything)
    recovered = points - short
    assert sum(leg.amount for leg in legs if leg.account == PROGRAM_ISSUED) == recovered
    by_id = {x.id: x for x in [*others, *([own] if own else [])]}
    for leg in legs:
        if leg.lot_id is not None:
            assert leg.amount < 0
            assert -leg.amount <= by_id[leg.lot_id].remaining


# ------------------------------------------------------------------ spending


def test_spend_takes_the_oldest_points_first() -> None:
    lots = [lot(3, 50, days=10), lot(1, 30, days=20), lot(2, 40, days=0)]
    legs = entries.spend(lots, 60)
    assert legs == [
        Leg(MEMBER_AVAILABLE, -40, 2),
        Leg(MEMBER_AVAILABLE, -20, 3),
        Leg(PROGRAM_REDEEMED, 60),
    ]


def test_spend_ties_on_earning_time_go_to_the_lower_lot_id() -> None:
    legs = entries.spend([lot(9, 10), lot(4, 10)], 15)
    assert [leg.lot_id for leg in legs[:-1]] == [4, 9]


def test_spend_ignores_pending_and_empty_lots() -> None:
    lots = [lot(1, 100, state="pending", days=-5), lot(2, 0, days=-3), lot(3, 25)]
    assert entries.spend(lots, 25) == [Leg(MEMBER_AVAILABLE, -25, 3), Leg(PROGRAM_REDEEMED, 25)]


def test_spend_more_than_available_raises_insufficient_points() -> None:
    lots = [lot(1, 30), lot(2, 500, state="pending")]
    with pytest.raises(InsufficientPoints, match="100 points requested but only 30") as info:
        entries.spend(lots, 100)
    assert info.value.context == {"available": 30}


def test_spend_exactly_everything() -> None:
    legs = entries.spend([lot(1, 30), lot(2, 70, days=1)], 100)
    assert total(legs) == 0
    assert legs[-1] == Leg(PROGRAM_REDEEMED, 100)


def test_a_negative_adjustment_is_a_spend_against_adjusted() -> None:
    legs = entries.spend([lot(1, 30)], 10, counter=PROGRAM_ADJUSTED)
    assert legs == [Leg(MEMBER_AVAILABLE, -10, 1), Leg(PROGRAM_ADJUSTED, 10)]


# ------------------------------------------------------------------ clawback


def test_clawback_takes_from_the_purchase_own_lot_first() -> None:
    own = lot(5, 100, state="pending", days=3)
    legs, short = entries.clawback(own, [lot(1, 100, state="pending", days=9)], 60)
    assert short == 0
    assert legs == [Leg(MEMBER_PENDING, -60, 5), Leg(PROGRAM_ISSUED, 60)]


def test_clawback_then_pending_newest_first_then_available_oldest_first() -> None:
    own = lot(10, 20, state="available", days=1)
    others = [
        lot(1, 10, state="available", days=0),
        lot(2, 10, state="available", days=2),
        lot(3, 10, state="pending", days=5),
        lot(4, 10, state="pending", days=8),
    ]
    legs, short = entries.clawback(own, others, 55)
    assert short == 0
    assert legs == [
        Leg(MEMBER_AVAILABLE, -20, 10),  # the purchase's own lot
        Leg(MEMBER_PENDING, -10, 4),  # then pending, newest first
        Leg(MEMBER_PENDING, -10, 3),
        Leg(MEMBER_AVAILABLE, -10, 1),  # then available, oldest first
        Leg(MEMBER_AVAILABLE, -5, 2),
        Leg(PROGRAM_ISSUED, 55),
    ]


def test_clawback_returns_what_could_not_be_recovered() -> None:
    legs, short = entries.clawback(lot(1, 30, state="pending"), [lot(2, 20)], 80)
    assert short == 30
    assert legs == [
        Leg(MEMBER_PENDING, -30, 1),
        Leg(MEMBER_AVAILABLE, -20, 2),
        Leg(PROGRAM_ISSUED, 50),
    ]


def test_clawback_with_nothing_left_posts_nothing() -> None:
    legs, short = entries.clawback(None, [], 40)
    assert (legs, short) == ([], 40)


def test_clawback_skips_a_closed_own_lot() -> None:
    legs, short = entries.clawback(lot(1, 0, state="closed"), [lot(2, 15)], 10)
    assert (legs, short) == ([Leg(MEMBER_AVAILABLE, -10, 2), Leg(PROGRAM_ISSUED, 10)], 0)


# ------------------------------------------------------------------ expiry


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=STOCKHOLM)


def test_no_expiry_without_months() -> None:
    assert expiry_for(T0, months=None, round_to_month_end=True, timezone="Europe/Stockholm") is None


def test_expiry_same_local_time_months_later() -> None:
    earned = local(2026, 3, 15, 14, 30).astimezone(UTC)
    result = expiry_for(earned, months=12, round_to_month_end=False, timezone="Europe/Stockholm")
    assert result == local(2027, 3, 15, 14, 30)
    assert result is not None
    assert result.tzinfo == UTC


def test_expiry_across_the_spring_dst_change_keeps_local_wall_time() -> None:
    # Earned in winter time (UTC+1), expires in summer time (UTC+2): same local time.
    earned = local(2026, 2, 10, 10, 0).astimezone(UTC)
    result = expiry_for(earned, months=2, round_to_month_end=False, timezone="Europe/Stockholm")
    assert result == local(2026, 4, 10, 10, 0)
    assert result == datetime(2026, 4, 10, 8, 0, tzinfo=UTC)


def test_expiry_across_the_autumn_dst_change() -> None:
    earned = local(2026, 9, 30, 23, 30).astimezone(UTC)
    result = expiry_for(earned, months=1, round_to_month_end=False, timezone="Europe/Stockholm")
    assert result == datetime(2026, 10, 30, 22, 30, tzinfo=UTC)


def test_expiry_clamps_to_the_last_day_of_a_short_month() -> None:
    earned = local(2026, 1, 31, 9, 0)
    assert expiry_for(
        earned, months=1, round_to_month_end=False, timezone="Europe/Stockholm"
    ) == local(2026, 2, 28, 9, 0)
    assert expiry_for(
        local(2027, 1, 31, 9, 0), months=13, round_to_month_end=False, timezone="Europe/Stockholm"
    ) == local(2028, 2, 29, 9, 0)


def test_expiry_across_the_year_end() -> None:
    earned = local(2026, 11, 20, 8, 0)
    assert expiry_for(
        earned, months=3, round_to_month_end=False, timezone="Europe/Stockholm"
    ) == local(2027, 2, 20, 8, 0)


def test_local_date_decides_not_utc_date() -> None:
    # 31 Dec 23:30 UTC is already 1 January in Stockholm.
    earned = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    result = expiry_for(earned, months=1, round_to_month_end=True, timezone="Europe/Stockholm")
    assert result == local(2027, 3, 1)


def test_month_end_rounding_expires_at_the_first_instant_of_the_next_month() -> None:
    earned = local(2026, 3, 15, 14, 30).astimezone(UTC)
    result = expiry_for(earned, months=12, round_to_month_end=True, timezone="Europe/Stockholm")
    assert result == local(2027, 4, 1, 0, 0)
    assert result == datetime(2027, 3, 31, 22, 0, tzinfo=UTC)  # summer time


def test_month_end_rounding_in_winter_time() -> None:
    earned = local(2026, 5, 5, 12, 0).astimezone(UTC)
    result = expiry_for(earned, months=6, round_to_month_end=True, timezone="Europe/Stockholm")
    assert result == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # 1 Dec 00:00 CET


def test_month_end_rounding_into_december_ends_on_new_year() -> None:
    earned = local(2026, 6, 1, 0, 0)
    result = expiry_for(earned, months=6, round_to_month_end=True, timezone="Europe/Stockholm")
    assert result == local(2027, 1, 1, 0, 0)


def test_month_end_rounding_across_the_dst_month() -> None:
    # Expiring at the end of March: 1 April 00:00 is summer time (UTC+2).
    earned = local(2025, 3, 30, 1, 0)
    result = expiry_for(earned, months=12, round_to_month_end=True, timezone="Europe/Stockholm")
    assert result == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    # Expiring at the end of October: 1 November is winter time (UTC+1).
    result = expiry_for(
        local(2026, 10, 1), months=0, round_to_month_end=True, timezone="Europe/Stockholm"
    )
    assert result == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)


# ------------------------------------------------------------------ the lots as of a moment

AVAILABLE_AT = T0 + timedelta(days=14)
EXPIRES_AT = T0 + timedelta(days=365)
SECOND = timedelta(seconds=1)


def dated(id: int = 1, remaining: int = 100, *, state: str = "pending") -> Lot:
    return Lot(id, state, remaining, T0, expires_at=EXPIRES_AT, available_at=AVAILABLE_AT)


def test_a_pending_lot_is_available_from_the_end_of_its_pending_period() -> None:
    lot = dated()
    assert entries.as_of([lot], AVAILABLE_AT - SECOND) == [lot]
    assert entries.settlement([lot], AVAILABLE_AT - SECOND) == []
    for now in (AVAILABLE_AT, AVAILABLE_AT + SECOND):
        assert [x.state for x in entries.as_of([lot], now)] == ["available"]
        owed = entries.settlement([lot], now)
        assert [(kind, legs) for kind, _, legs in owed] == [("activate", entries.activate(lot))]
        assert entries.member_deltas(owed[0][2]) == (-100, 100, 0)


def test_a_lot_is_gone_from_its_expiry_moment() -> None:
    lot = dated(state="available", remaining=40)
    assert entries.as_of([lot], EXPIRES_AT - SECOND) == [lot]
    assert entries.settlement([lot], EXPIRES_AT - SECOND) == []
    for now in (EXPIRES_AT, EXPIRES_AT + SECOND):
        assert entries.as_of([lot], now) == []
        owed = entries.settlement([lot], now)
        assert [(kind, legs) for kind, _, legs in owed] == [("expire", entries.expire(lot))]
        assert entries.member_deltas(owed[0][2]) == (0, -40, 40)


def test_a_lot_past_both_dates_is_activated_then_expired_as_the_job_does() -> None:
    lot = dated()
    owed = entries.settlement([lot], EXPIRES_AT + SECOND)
    assert [(kind, x.state) for kind, x, _ in owed] == [
        ("activate", "pending"),
        ("expire", "available"),
    ]
    assert entries.member_deltas(leg for *_, legs in owed for leg in legs) == (-100, 0, 100)
    for _, _, legs in owed:
        check_balanced(legs)


def test_a_lot_that_expires_while_pending_expires_from_pending() -> None:
    lot = Lot(1, "pending", 70, T0, expires_at=AVAILABLE_AT, available_at=EXPIRES_AT)
    owed = entries.settlement([lot], AVAILABLE_AT)
    assert [kind for kind, _, _ in owed] == ["expire"]
    assert entries.member_deltas(owed[0][2]) == (-70, 0, 70)


def test_closed_empty_and_undated_lots_owe_nothing() -> None:
    lots = [
        dated(1, state="closed", remaining=0),
        dated(2, remaining=0),
        Lot(3, "available", 10, T0),  # never expires
    ]
    later = EXPIRES_AT + timedelta(days=1000)
    assert entries.settlement(lots, later) == []
    assert entries.as_of(lots, later) == [lots[2]]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["pending", "available"]),
            st.integers(0, 500),
            st.integers(-3, 3),
            st.integers(-3, 3),
        ),
        max_size=8,
    ),
    st.integers(-5, 5),
)
def test_the_settlement_moves_the_balance_to_what_the_lots_are_at_that_moment(
    shape: list[tuple[str, int, int, int]], at: int
) -> None:
    lots = [
        Lot(
            i,
            state,
            remaining,
            T0,
            expires_at=T0 + timedelta(seconds=10 + expires),
            available_at=T0 + timedelta(seconds=available),
        )
        for i, (state, remaining, available, expires) in enumerate(shape)
    ]
    now = T0 + timedelta(seconds=10 + at)

    def sums(lots: list[Lot]) -> tuple[int, int]:
        pending = sum(x.remaining for x in lots if x.state == "pending")
        return pending, sum(x.remaining for x in lots if x.state == "available")

    pending, available = sums(lots)
    d_pending, d_available, expired = entries.member_deltas(
        leg for *_, legs in entries.settlement(lots, now) for leg in legs
    )
    assert (pending + d_pending, available + d_available) == sums(entries.as_of(lots, now))
    assert pending + available - expired == sum(sums(entries.as_of(lots, now)))
