"""The production engine (integer arithmetic, compiled conditions) gives exactly the awards of
the plain reference (``reference.py``: fractions, ``matches()``), on random rules and baskets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from lojal.activities.events import LineFacts
from lojal.rules.engine import MemberFacts, PurchaseFacts, RuleSet, award_purchase
from lojal.rules.schemas import Rule
from tests.rules.reference import award_purchase as reference_award

RULES = TypeAdapter(list[Rule])
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CATEGORIES = ["coffee", "tea", "bakery", None]

conditions = st.one_of(
    st.none(),
    st.builds(
        lambda c: {"field": "line.category", "op": "eq", "value": c},
        st.sampled_from(CATEGORIES[:3]),
    ),
    st.builds(
        lambda s: {"field": "line.sku", "op": "in", "value": s},
        st.lists(st.sampled_from("ABCD"), min_size=1, max_size=3),
    ),
    st.builds(
        lambda c: {"field": "purchase.channel", "op": "eq", "value": c},
        st.sampled_from(["store", "web"]),
    ),
    st.builds(
        lambda v: {"field": "purchase.total_minor", "op": "gte", "value": v}, st.integers(0, 60_000)
    ),
    st.builds(
        lambda d: {"field": "purchase.weekday", "op": "in", "value": d},
        st.lists(st.sampled_from(["mon", "sat", "sun"]), min_size=1, max_size=2),
    ),
    st.just({"not": {"field": "line.category", "op": "exists", "value": True}}),
)
caps = st.one_of(
    st.none(),
    st.builds(
        lambda p, per: {"points": p, "period": per},
        st.integers(1, 400),
        st.sampled_from(["day", "month", "lifetime"]),
    ),
)
windows: st.SearchStrategy[dict[str, str]] = st.one_of(
    st.just({}),
    st.builds(
        lambda h: {"valid_from": (START + timedelta(hours=h)).isoformat()}, st.integers(-48, 48)
    ),
    st.builds(
        lambda h: {"valid_until": (START + timedelta(hours=h)).isoformat()}, st.integers(-48, 48)
    ),
)


@st.composite
def rulesets(draw: Any) -> RuleSet:
    rules: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 3))):
        rules.append(
            {
                "id": f"base{i}",
                "kind": "base",
                "points": draw(st.sampled_from(["1", "2", "1.3", "0.5", "3"])),
                "per": draw(st.sampled_from(["1", "10", "2.5"])),
                "when": draw(conditions),
                "cap": draw(caps),
                **draw(windows),
            }
        )
    for i in range(draw(st.integers(0, 3))):
        rules.append(
            {
                "id": f"mult{i}",
                "kind": "multiplier",
                "factor": draw(st.sampled_from(["1.5", "2", "3", "1.25", "1.1"])),
                "when": draw(conditions),
                "cap": draw(caps),
                "name": draw(st.sampled_from([None, "members"])),
                **draw(windows),
            }
        )
    if draw(st.booleans()):
        rules.append(
            {
                "id": "bonus",
                "kind": "bonus",
                "points": draw(st.integers(1, 200)),
                "when": draw(conditions),
                "cap": draw(caps),
            }
        )
    if draw(st.booleans()):
        rules.append(
            {
                "id": "first",
                "kind": "first_purchase",
                "points": draw(st.integers(1, 200)),
                "cap": draw(caps),
            }
        )
    order = draw(st.permutations(rules))
    currency, minor_units = draw(st.sampled_from([("SEK", 2), ("JPY", 0), ("KWD", 3)]))
    return RuleSet(
        RULES.validate_python(order),
        "Europe/Stockholm",
        currency,
        minor_units=minor_units,
        stacking=draw(st.sampled_from(["multiply", "add", "max"])),
    )


lines = st.lists(
    st.builds(
        lambda sku, q, price, cat: LineFacts(sku, q, price, q * price, category=cat),
        st.sampled_from("ABCDE"),
        st.integers(1, 5),
        st.integers(0, 40_000),
        st.sampled_from(CATEGORIES),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(
    ruleset=rulesets(),
    basket=lines,
    hours=st.integers(-72, 72),
    channel=st.sampled_from(["store", "web"]),
    first=st.booleans(),
    used=st.dictionaries(
        st.sampled_from(["base0", "base1", "mult0", "mult1", "bonus", "first"]), st.integers(0, 500)
    ),
)
def test_the_engine_agrees_with_the_reference(
    ruleset: RuleSet,
    basket: list[LineFacts],
    hours: int,
    channel: str,
    first: bool,
    used: dict[str, int],
) -> None:
    purchase = PurchaseFacts(
        START + timedelta(hours=hours), channel, sum(x.total_minor for x in basket), basket
    )
    member = MemberFacts(first_purchase=first)
    assert award_purchase(ruleset, purchase, member, used) == reference_award(
        ruleset, purchase, member, used
    )
