"""Every example of the mission's segmentation (§9), on hand-made data whose answer is known,
each checked on both readers (SQL and in memory, ``helpers.holding``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.members.models import Member
from lojal.members.schemas import ConsentGrant
from lojal.members.service import set_consent
from lojal.program.schemas import ProgramConfig
from lojal.referrals.models import Referral
from tests.factories import line, make_event, make_member, make_purchase, make_return, unique
from tests.segments.helpers import holding

DAY = timedelta(days=1)


def buy(
    session: Session,
    clock: FixedClock,
    member: Member,
    days_ago: int,
    *lines: dict[str, Any],
    order_id: str | None = None,
) -> str:
    order = order_id or unique("order")
    make_purchase(
        session,
        clock,
        order,
        member_id=member.id,
        occurred_at=(clock.now() - days_ago * DAY).isoformat(),
        lines=list(lines) or [line()],
    )
    return order


def happen(
    session: Session,
    clock: FixedClock,
    member: Member,
    type_: str,
    days_ago: int = 1,
    **properties: Any,
) -> None:
    make_event(
        session,
        clock,
        type_,
        member_id=member.id,
        occurred_at=(clock.now() - days_ago * DAY).isoformat(),
        properties=properties,
    )


def test_repeat_purchases_within_a_period(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    twice, once, twice_but_one_earlier = (make_member(session, clock) for _ in range(3))
    buy(session, clock, twice, 10)
    buy(session, clock, twice, 20)
    buy(session, clock, once, 10)
    buy(session, clock, twice_but_one_earlier, 10)
    buy(session, clock, twice_but_one_earlier, 200)
    repeat = {
        "activity": "purchases",
        "within": {"last_days": 90},
        "measure": "count",
        "op": "gte",
        "value": 2,
    }
    assert holding(session, repeat, now=clock.now()) == {twice.id}
    between = {
        "activity": "purchases",
        "within": {"days_ago": [5, 300]},
        "measure": "count",
        "op": "gte",
        "value": 2,
    }
    assert holding(session, between, now=clock.now()) == {twice.id, twice_but_one_earlier.id}


def test_subscribers_who_never_purchased(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    subscriber, buyer, unsubscribed = (make_member(session, clock) for _ in range(3))
    for m in (subscriber, buyer):
        set_consent(
            session,
            member_id=m.id,
            grant=ConsentGrant(channel="email", granted=True),
            now=clock.now(),
        )
    set_consent(
        session,
        member_id=unsubscribed.id,
        grant=ConsentGrant(channel="email", granted=True),
        now=clock.now(),
    )
    set_consent(
        session,
        member_id=unsubscribed.id,
        grant=ConsentGrant(channel="email", granted=False),
        now=clock.now(),
    )
    buy(session, clock, buyer, 3)
    never = {
        "all": [
            {"field": "member.consent.email", "op": "eq", "value": True},
            {"activity": "purchases", "measure": "none"},
        ]
    }
    assert holding(session, never, now=clock.now()) == {subscriber.id}
    everyone_never = {"activity": "purchases", "measure": "none"}
    assert holding(session, everyone_never, now=clock.now()) == {subscriber.id, unsubscribed.id}


def test_x_purchases_and_y_returns(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    returner, keeper = make_member(session, clock), make_member(session, clock)
    orders = [buy(session, clock, returner, d) for d in (5, 6, 7)]
    make_return(session, clock, orders[0])
    make_return(session, clock, orders[1])
    for d in (5, 6, 7):
        buy(session, clock, keeper, d)
    three_and_two = {
        "all": [
            {"activity": "purchases", "measure": "count", "op": "gte", "value": 3},
            {"activity": "returns", "measure": "count", "op": "eq", "value": 2},
        ]
    }
    assert holding(session, three_and_two, now=clock.now()) == {returner.id}


def test_average_order_value_over_x_without_a_repeat_purchase(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    big_once, big_twice, small_once = (make_member(session, clock) for _ in range(3))
    buy(session, clock, big_once, 3, line(unit_price_minor=80_000))
    buy(session, clock, big_twice, 3, line(unit_price_minor=80_000))
    buy(session, clock, big_twice, 4, line(unit_price_minor=90_000))
    buy(session, clock, small_once, 3, line(unit_price_minor=20_000))
    aov = {
        "all": [
            {
                "activity": "purchases",
                "measure": "avg",
                "of": "purchase.total_minor",
                "op": "gt",
                "value": 50_000,
            },
            {"activity": "purchases", "measure": "count", "op": "eq", "value": 1},
        ]
    }
    assert holding(session, aov, now=clock.now()) == {big_once.id}


def test_engaged_with_a_product_type_without_buying_it(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    browser, buyer, other = (make_member(session, clock) for _ in range(3))
    for m in (browser, buyer):
        happen(session, clock, m, "product_view", category="shoes")
        happen(session, clock, m, "email_click", category="shoes")
    happen(session, clock, other, "product_view", category="hats")
    buy(session, clock, buyer, 1, line(category="shoes"))
    engaged = {
        "all": [
            {
                "activity": "events",
                "measure": "count",
                "op": "gte",
                "value": 2,
                "where": {
                    "all": [
                        {
                            "field": "event.type",
                            "op": "in",
                            "value": ["product_view", "email_click"],
                        },
                        {"field": "event.properties.category", "op": "eq", "value": "shoes"},
                    ]
                },
            },
            {
                "not": {
                    "activity": "lines",
                    "measure": "exists",
                    "where": {"field": "line.category", "op": "eq", "value": "shoes"},
                }
            },
        ]
    }
    assert holding(session, engaged, now=clock.now()) == {browser.id}


def test_several_interest_areas_clicked_selected_news_never_re_purchased(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    target, came_back, narrow = (make_member(session, clock) for _ in range(3))
    wide = [line("A", category="coffee"), line("B", category="tea"), line("C", category="cups")]
    buy(session, clock, target, 30, *wide)
    buy(session, clock, came_back, 30, *wide)
    buy(session, clock, came_back, 10)
    buy(session, clock, narrow, 30, line("A", category="coffee"))
    for m in (target, came_back, narrow):
        happen(session, clock, m, "email_click", newsletter="spring-news")
    news = {
        "all": [
            {
                "activity": "lines",
                "measure": "distinct",
                "of": "line.category",
                "op": "gte",
                "value": 3,
            },
            {
                "activity": "events",
                "measure": "exists",
                "where": {
                    "all": [
                        {"field": "event.type", "op": "eq", "value": "email_click"},
                        {
                            "field": "event.properties.newsletter",
                            "op": "in",
                            "value": ["spring-news", "summer-news"],
                        },
                    ]
                },
            },
            {"activity": "purchases", "measure": "count", "op": "eq", "value": 1},
        ]
    }
    assert holding(session, news, now=clock.now()) == {target.id}


def _refer(
    session: Session, advocate: Member, referee: Member, now: datetime, status: str = "qualified"
) -> None:
    session.add(
        Referral(
            advocate_id=advocate.id,
            referee_id=referee.id,
            code="X",
            source="claim",
            status=status,
            referred_at=now,
            updated_at=now,
        )
    )


AMBASSADORS = {
    "all": [
        {
            "activity": "purchases",
            "within": {"last_days": 365},
            "measure": "count",
            "op": "gte",
            "value": 3,
        },
        {"activity": "returns", "within": {"last_days": 365}, "measure": "none"},
        {
            "ratio": {
                "numerator": {
                    "activity": "events",
                    "where": {"field": "event.type", "op": "eq", "value": "email_click"},
                },
                "denominator": {
                    "activity": "events",
                    "where": {"field": "event.type", "op": "eq", "value": "email_open"},
                },
            },
            "op": "gte",
            "value": 0.3,
        },
        {
            "activity": "events",
            "measure": "exists",
            "where": {"field": "event.type", "op": "eq", "value": "survey_answered"},
        },
        {"field": "member.referrals", "op": "gte", "value": 1},
    ]
}


def test_brand_ambassadors(session: Session, clock: FixedClock, program: ProgramConfig) -> None:
    star, returner, no_clicks, no_survey, no_referral = (
        make_member(session, clock) for _ in range(5)
    )
    for m in (star, returner, no_clicks, no_survey, no_referral):
        orders = [buy(session, clock, m, d) for d in (10, 40, 100)]
        for _ in range(10):
            happen(session, clock, m, "email_open")
        clicks = 1 if m is no_clicks else 4  # 10 % against 40 %
        for _ in range(clicks):
            happen(session, clock, m, "email_click")
        if m is not no_survey:
            happen(session, clock, m, "survey_answered", score=9)
        if m is not no_referral:
            _refer(session, m, make_member(session, clock), clock.now())
        if m is returner:
            make_return(session, clock, orders[0])
    assert holding(session, AMBASSADORS, now=clock.now()) == {star.id}
    # a refused referral is not taking part
    session.query(Referral).filter(Referral.advocate_id == star.id).update({"status": "refused"})
    assert holding(session, AMBASSADORS, now=clock.now()) == set()


def test_the_top_ten_percent_by_spend(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    members = [make_member(session, clock) for _ in range(21)]
    for i, m in enumerate(members[:20]):  # the 21st never bought: not a customer
        buy(session, clock, m, 5, line(unit_price_minor=1_000 * (i + 1)))
    top = {
        "top": {
            "percent": 10,
            "by": {"activity": "purchases", "measure": "sum", "of": "purchase.total_minor"},
        }
    }
    assert holding(session, top, now=clock.now()) == {members[19].id, members[18].id}
    # ties are in together: three at 20,000 (more than 10 %), the 19,000 now out
    buy(session, clock, members[17], 5, line(unit_price_minor=2_000))
    buy(session, clock, members[16], 5, line(unit_price_minor=3_000))
    assert holding(session, top, now=clock.now()) == {
        m.id for m in members[16:20:1] if m is not members[18]
    }


def test_lapsed_customers(session: Session, clock: FixedClock, program: ProgramConfig) -> None:
    lapsed, recent, never = (make_member(session, clock) for _ in range(3))
    buy(session, clock, lapsed, 120)
    buy(session, clock, recent, 120)
    buy(session, clock, recent, 30)
    definition = {
        "all": [
            {"activity": "purchases", "measure": "exists"},
            {"not": {"activity": "purchases", "measure": "exists", "within": {"last_days": 90}}},
        ]
    }
    assert holding(session, definition, now=clock.now()) == {lapsed.id}
    assert never.id
    # the same, said with the date of the last purchase
    last = {"activity": "purchases", "measure": "last", "in": {"days_ago": [90, None]}}
    assert holding(session, last, now=clock.now()) == {lapsed.id}
