"""Random definitions over random activity: the preview (SQL), the saved segment's stored
membership after live updates, and the in-memory evaluator agree on every member (a top
percentile, which moves with everyone's activity, is checked on the two readers). Members
have random stored insight figures, or none, as a refit leaves them (the computed measures)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.insight.models import InsightFit, MemberScore
from lojal.insight.rfm import GROUPS
from lojal.program.schemas import ProgramConfig
from lojal.segments import membership, queries, service
from lojal.segments import tasks as segment_tasks
from lojal.segments.schemas import SegmentCreate
from tests.factories import line, make_event, make_member, make_purchase, make_return
from tests.segments.helpers import in_memory

_ids = itertools.count(1)
CATEGORIES = ["coffee", "tea", "cups"]
EVENT_TYPES = ["email_open", "email_click", "product_view"]

windows = st.one_of(
    st.builds(lambda n: {"last_days": n}, st.integers(1, 60)),
    st.builds(lambda a, b: {"days_ago": [a, a + b]}, st.integers(0, 30), st.integers(0, 30)),
    st.builds(lambda a: {"days_ago": [a, None]}, st.integers(0, 40)),
    st.builds(
        lambda a, b: {
            "from": (date(2026, 3, 2) - timedelta(days=a + b)).isoformat(),
            "until": (date(2026, 3, 2) - timedelta(days=a)).isoformat(),
        },
        st.integers(0, 30),
        st.integers(0, 30),
    ),
)
numbers_op = st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"])

wheres: dict[str, Any] = {
    "purchases": st.one_of(
        st.none(),
        st.builds(
            lambda c: {"field": "purchase.channel", "op": "eq", "value": c},
            st.sampled_from(["store", "web"]),
        ),
        st.builds(
            lambda n: {"field": "purchase.total_minor", "op": "gte", "value": n},
            st.integers(0, 40_000),
        ),
    ),
    "lines": st.one_of(
        st.none(),
        st.builds(
            lambda cs: {"field": "line.category", "op": "in", "value": cs},
            st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2, unique=True),
        ),
    ),
    "returns": st.one_of(
        st.none(),
        st.builds(
            lambda c: {"field": "purchase.channel", "op": "eq", "value": c},
            st.sampled_from(["store", "web"]),
        ),
    ),
    # events always name their type: a definition that counts every event would read its
    # own entry events (see docs/segments.md)
    "events": st.one_of(
        st.builds(
            lambda t: {"field": "event.type", "op": "eq", "value": t}, st.sampled_from(EVENT_TYPES)
        ),
        st.builds(
            lambda t, n: {
                "all": [
                    {"field": "event.type", "op": "eq", "value": t},
                    {"field": "event.properties.n", "op": "gte", "value": n},
                ]
            },
            st.sampled_from(EVENT_TYPES),
            st.integers(0, 3),
        ),
    ),
}
NUMBERS = {
    "purchases": ["purchase.total_minor"],
    "lines": ["line.quantity", "line.total_minor"],
    "returns": ["return.total_minor"],
    "events": [],
}
DISTINCT = {
    "purchases": ["purchase.channel"],
    "lines": ["line.category"],
    "returns": ["purchase.order_id"],
    "events": ["event.type"],
}


@st.composite
def activity_tests(draw: st.DrawFn) -> dict[str, Any]:
    source = draw(st.sampled_from(["purchases", "lines", "returns", "events"]))
    node: dict[str, Any] = {"activity": source}
    where = draw(wheres[source])
    if where is not None:
        node["where"] = where
    if draw(st.booleans()):
        node["within"] = draw(windows)
    kinds = ["count", "distinct", "exists", "none", "first", "last"]
    if NUMBERS[source]:
        kinds += ["sum", "avg", "min", "max"]
    kind = draw(st.sampled_from(kinds))
    node["measure"] = kind
    if kind in ("sum", "avg", "min", "max"):
        node["of"] = draw(st.sampled_from(NUMBERS[source]))
    if kind == "distinct":
        node["of"] = draw(st.sampled_from(DISTINCT[source]))
    if kind in ("first", "last"):
        node["in"] = draw(windows)
    elif kind not in ("exists", "none"):
        node["op"] = draw(numbers_op)
        scale = (
            10_000
            if kind in ("sum", "avg", "min", "max") and "quantity" not in str(node.get("of"))
            else 1
        )
        node["value"] = draw(st.integers(0, 4)) * scale
    return node


def _count(source: str) -> Any:
    return st.builds(
        lambda w: {"activity": source, **({"where": w} if w is not None else {})},
        wheres[source],
    )


member_tests = st.one_of(
    st.builds(
        lambda v: {"field": "member.attributes.size", "op": "gte", "value": v}, st.integers(0, 3)
    ),
    st.builds(lambda v: {"field": "member.consent.email", "op": "eq", "value": v}, st.booleans()),
    st.builds(
        lambda v: {"field": "member.points_pending", "op": "gte", "value": v},
        st.sampled_from([0, 100, 300]),
    ),
    st.just({"field": "member.first_name", "op": "exists", "value": True}),
    st.builds(
        lambda a, b: {"birthday": {"in_days": [a, a + b]}}, st.integers(-10, 10), st.integers(0, 20)
    ),
    st.builds(
        lambda a, b: {"anniversary": {"in_days": [a, a + b]}},
        st.integers(-10, 10),
        st.integers(0, 20),
    ),
    st.builds(lambda w: {"date": "member.enrolled_at", "within": w}, windows),
    st.builds(lambda w: {"date": "member.birth_date", "within": w}, windows),
)
# the computed measures (lojal.insight's stored figures)
insight_tests = st.one_of(
    st.builds(
        lambda op, v: {"field": "member.clv_minor", "op": op, "value": v * 1_000},
        numbers_op,
        st.integers(0, 5),
    ),
    st.builds(
        lambda path, op, v: {"field": path, "op": op, "value": v},
        st.sampled_from(["member.p_alive", "member.churn_risk"]),
        numbers_op,
        st.sampled_from([0, 0.1, 0.5, 1 / 3, 2 / 3, 0.9, 1]),
    ),
    st.builds(
        lambda op, v: {"field": "member.expected_purchases", "op": op, "value": v},
        numbers_op,
        st.sampled_from([0, 0.5, 1.25, 3]),
    ),
    st.builds(
        lambda path, values: {"field": path, "op": "in", "value": values},
        st.sampled_from(["member.rfm.r", "member.rfm.f", "member.rfm.m"]),
        st.lists(st.integers(1, 5), min_size=1, max_size=3, unique=True),
    ),
    st.builds(
        lambda op, v: {"field": "member.rfm.r", "op": op, "value": v},
        numbers_op,
        st.integers(1, 5),
    ),
    st.builds(
        lambda op, group: {"field": "member.rfm.group", "op": op, "value": group},
        st.sampled_from(["eq", "ne"]),
        st.sampled_from(GROUPS),
    ),
    st.builds(lambda v: {"field": "member.clv_minor", "op": "exists", "value": v}, st.booleans()),
)
member_tests = st.one_of(member_tests, insight_tests)
ratios = st.builds(
    lambda top, bottom, op, v: {
        "ratio": {"numerator": top, "denominator": bottom},
        "op": op,
        "value": v,
    },
    st.one_of(_count("events"), _count("purchases")),
    st.one_of(_count("events"), _count("lines")),
    numbers_op,
    st.sampled_from([0, 0.5, 1, 2]),
)
tops = st.builds(
    lambda source, kind, percent, where: {
        "top": {
            "percent": percent,
            "by": {
                "activity": source,
                "measure": kind,
                **({"of": NUMBERS[source][0]} if kind == "sum" else {}),
                **({"where": where} if where is not None else {}),
            },
        }
    },
    st.sampled_from(["purchases", "lines"]),
    st.sampled_from(["count", "sum"]),
    st.sampled_from([10, 25, 50, 100]),
    st.none(),
)
leaves = st.one_of(activity_tests(), member_tests, ratios, tops)
definitions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=5,
)

actions = st.lists(
    st.tuples(
        st.sampled_from(["purchase", "purchase", "return", "event"]),
        st.integers(0, 3),  # member
        st.integers(0, 70),  # days ago
        st.sampled_from(CATEGORIES),
        st.integers(1, 4),  # quantity, amount, property n
        st.sampled_from(["store", "web"]),
        st.sampled_from(EVENT_TYPES),
    ),
    max_size=14,
)
profiles = st.lists(
    st.tuples(
        st.dates(date(1960, 1, 1), date(2008, 12, 31)),
        st.integers(0, 3),  # attributes.size
        st.sampled_from([None, True, False]),  # email consent
        st.integers(0, 800),  # enrolled, days before the clock
    ),
    min_size=4,
    max_size=4,
)
# each member's stored figures, or none (not scored): clv, p_alive, expected, r, f, m, group
figures = st.lists(
    st.one_of(
        st.none(),
        st.tuples(
            st.integers(0, 5).map(lambda n: n * 1_000),
            st.sampled_from([0.1, 0.5, 1 / 3, 2 / 3, 0.9, 1.0]),
            st.sampled_from([0.0, 0.5, 1.25, 3.0]),
            st.integers(1, 5),
            st.integers(1, 5),
            st.integers(1, 5),
            st.sampled_from(GROUPS),
        ),
    ),
    min_size=4,
    max_size=4,
)


def _store_figures(
    session: Session, clock: FixedClock, members: list[Any], chosen: list[Any]
) -> None:
    """Figures as a refit stores them, and the segments that read them brought up to date
    as the refit does (``insight.tasks.refit``)."""
    fit = InsightFit(
        fitted_at=clock.now(),
        as_of=clock.now().date(),
        model="bgnbd",
        months=12,
        monthly_discount=0.01,
        retention_years=1.0,
        unit_days=7.0,
        currency="SEK",
        members=0,
        fitted_members=0,
        repeat_members=0,
        params={},
        log_likelihood={},
        converged=True,
        spend_fallbacks=0,
    )
    session.add(fit)
    session.flush()
    for member, each in zip(members, chosen, strict=True):
        if each is None:
            continue
        clv, alive, expected, r, f, m, group = each
        session.add(
            MemberScore(
                member_id=member.id,
                fit_id=fit.id,
                fitted_at=clock.now(),
                rfm_r=r,
                rfm_f=f,
                rfm_m=m,
                rfm_fm=(f + m + 1) // 2,
                rfm_group=group,
                transactions=1,
                revenue_minor=clv,
                first_purchase_on=clock.now().date(),
                last_purchase_on=clock.now().date(),
                p_alive=alive,
                churn_risk=1 - alive,
                expected_purchases=expected,
                expected_spend_minor=100,
                clv_minor=clv,
                simple_clv_minor=clv,
            )
        )
    session.flush()
    segment_tasks.refresh_reading(session, "insight", now=clock.now())


def test_sql_stored_and_in_memory_agree(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        chosen=st.lists(definitions, min_size=1, max_size=3),
        people=profiles,
        done=actions,
        scored=figures,
    )
    def check(
        chosen: list[dict[str, Any]],
        people: list[tuple[Any, ...]],
        done: list[tuple[Any, ...]],
        scored: list[Any],
    ) -> None:
        savepoint = session.begin_nested()
        try:
            run = next(_ids)
            segments = [
                service.create(
                    session,
                    data=SegmentCreate.model_validate(
                        {"code": f"s{run}-{i}", "name": "random", "definition": d}
                    ),
                    now=clock.now(),
                )
                for i, d in enumerate(chosen)
            ]
            members = []
            for i, (birth, size, consent, enrolled) in enumerate(people):
                member = make_member(
                    session,
                    clock,
                    birth_date=birth.isoformat(),
                    first_name="Ada" if i % 2 else None,
                    attributes={"size": size},
                    enrolled_at=(clock.now() - timedelta(days=enrolled)).isoformat(),
                    # a consent given later is a profile change: the sweep's (docs/segments.md)
                    consents=[] if consent is None else [{"channel": "email", "granted": consent}],
                )
                members.append(member)
            orders: dict[int, list[str]] = {i: [] for i in range(4)}
            for n, (kind, who, days, category, amount, channel, type_) in enumerate(done):
                at = (clock.now() - timedelta(days=days, hours=n)).isoformat()
                member = members[who]
                if kind == "purchase":
                    order = f"r{run}-{n}"
                    make_purchase(
                        session,
                        clock,
                        order,
                        member_id=member.id,
                        channel=channel,
                        occurred_at=at,
                        lines=[line(category=category, quantity=amount, unit_price_minor=5_000)],
                    )
                    orders[who].append(order)
                elif kind == "return" and orders[who]:
                    make_return(session, clock, orders[who].pop(0), occurred_at=at)
                elif kind == "event":
                    make_event(
                        session,
                        clock,
                        type_,
                        member_id=member.id,
                        occurred_at=at,
                        properties={"n": amount},
                    )
            session.flush()
            _store_figures(session, clock, members, scored)
            for segment, d in zip(segments, chosen, strict=True):
                stored = set(queries.current_ids(session, segment.id))
                sql = set(
                    queries.holding(session, membership.definition_of(segment), now=clock.now())
                )
                memory = in_memory(session, d, now=clock.now())
                assert sql == memory, (d, sql, memory)
                if "population" not in segment.reads:
                    # a percentile moves with the others' activity: exact at the sweep
                    assert stored == sql, (d, stored, sql)
        finally:
            savepoint.rollback()

    check()


def test_the_computed_measures_agree_on_every_member(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    """The insight fields alone, often: any mix of stored figures and members without."""
    members = [make_member(session, clock) for _ in range(4)]
    insight_definitions = st.recursive(
        insight_tests,
        lambda inner: st.one_of(
            st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
            st.builds(lambda xs: {"any": xs}, st.lists(inner, max_size=3)),
            st.builds(lambda x: {"not": x}, inner),
        ),
        max_leaves=4,
    )

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(chosen=st.lists(insight_definitions, min_size=1, max_size=3), scored=figures)
    def check(chosen: list[dict[str, Any]], scored: list[Any]) -> None:
        savepoint = session.begin_nested()
        try:
            run = next(_ids)
            segments = [
                service.create(
                    session,
                    data=SegmentCreate.model_validate(
                        {"code": f"i{run}-{i}", "name": "random", "definition": d}
                    ),
                    now=clock.now(),
                )
                for i, d in enumerate(chosen)
            ]
            _store_figures(session, clock, members, scored)
            for segment, d in zip(segments, chosen, strict=True):
                stored = set(queries.current_ids(session, segment.id))
                sql = set(
                    queries.holding(session, membership.definition_of(segment), now=clock.now())
                )
                memory = in_memory(session, d, now=clock.now())
                assert sql == memory, (d, sql, memory)
                assert stored == sql, (d, stored, sql)
        finally:
            savepoint.rollback()

    check()
