"""Conditions have two readers that must agree: ``matches()`` in memory and ``to_sql()`` on both
databases. Each operator is specified on a handful of rows with nulls, absent JSON keys and
values of the wrong type, and SQL must select exactly the rows that ``matches()`` accepts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, select
from sqlalchemy.orm import Session

from lojal.conditions.compile import Fields, to_sql
from lojal.conditions.evaluate import compile_condition, matches
from lojal.conditions.model import parse_condition
from lojal.db.types import JSONType, UTCDateTime

metadata = MetaData()
people = Table(
    "condition_parity_people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50)),
    Column("visits", Integer),
    Column("score", Float),
    Column("active", Boolean),
    Column("seen_at", UTCDateTime),
    Column("attributes", JSONType),
)
FIELDS = Fields(
    columns={
        "member.name": people.c.name,
        "member.visits": people.c.visits,
        "member.score": people.c.score,
        "member.active": people.c.active,
        "member.seen_at": people.c.seen_at,
    },
    json_columns={"member.attributes": people.c.attributes},
)

ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "Anna",
        "visits": 3,
        "score": 2.5,
        "active": True,
        "seen_at": datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        "attributes": {
            "colour": "red",
            "visits": 5,
            "vip": True,
            "tags": ["coffee", "tea"],
            "store": {"city": "Malmö"},
        },
    },
    {
        "id": 2,
        "name": "anders",
        "visits": 10,
        "score": None,
        "active": False,
        "seen_at": None,
        "attributes": {"colour": "Red", "visits": "5", "vip": "yes", "tags": [1, 2, True]},
    },
    {
        "id": 3,
        "name": None,
        "visits": None,
        "score": 0.0,
        "active": None,
        "seen_at": datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
        "attributes": {},
    },
    {
        "id": 4,
        "name": "Åsa",
        "visits": 0,
        "score": -1.0,
        "active": True,
        "seen_at": datetime(2026, 3, 1, 9, 59, 59, tzinfo=UTC),
        "attributes": {"colour": None, "visits": 2.5, "vip": False, "tags": []},
    },
    {
        "id": 5,
        "name": "Bo%_\\x",
        "visits": 7,
        "score": 7.0,
        "active": False,
        "seen_at": datetime(2025, 1, 1, tzinfo=UTC),
        "attributes": None,
    },
    {
        "id": 6,
        "name": "zoë",
        "visits": 1,
        "score": 1.0,
        "active": True,
        "seen_at": datetime(2026, 6, 1, tzinfo=UTC),
        "attributes": {
            "colour": "redwood",
            "visits": 1000,
            "vip": 1,
            "tags": "coffee",
            "store": {"city": "Göteborg"},
            "my-key": "x",
        },
    },
    {
        "id": 7,
        "name": "ANNA",
        "visits": -3,
        "score": 2.5,
        "active": True,
        "seen_at": datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
        "attributes": {"colour": "", "visits": -1, "tags": ["Coffee", "coffee"], "vip": None},
    },
]

# (condition, the ids it selects) — the specification both readers must follow.
CASES: list[tuple[dict[str, Any], set[int]]] = [
    # eq / ne
    ({"field": "member.name", "op": "eq", "value": "Anna"}, {1}),
    ({"field": "member.name", "op": "ne", "value": "Anna"}, {2, 4, 5, 6, 7}),
    ({"field": "member.name", "op": "eq", "value": 5}, set()),
    ({"field": "member.name", "op": "ne", "value": 5}, {1, 2, 4, 5, 6, 7}),
    ({"field": "member.visits", "op": "eq", "value": 10}, {2}),
    ({"field": "member.visits", "op": "eq", "value": 10.0}, {2}),
    ({"field": "member.visits", "op": "eq", "value": "10"}, set()),
    ({"field": "member.visits", "op": "ne", "value": 10}, {1, 4, 5, 6, 7}),
    ({"field": "member.visits", "op": "eq", "value": True}, set()),
    ({"field": "member.score", "op": "eq", "value": 2.5}, {1, 7}),
    ({"field": "member.active", "op": "eq", "value": True}, {1, 4, 6, 7}),
    ({"field": "member.active", "op": "ne", "value": True}, {2, 5}),
    ({"field": "member.active", "op": "eq", "value": 1}, set()),
    ({"field": "member.seen_at", "op": "eq", "value": "2026-03-01T10:00:00"}, {1}),
    ({"field": "member.seen_at", "op": "eq", "value": "2026-03-01T11:00:00+01:00"}, {1}),
    ({"field": "member.seen_at", "op": "eq", "value": "not a time"}, set()),
    ({"field": "member.attributes.colour", "op": "eq", "value": "red"}, {1}),
    ({"field": "member.attributes.colour", "op": "ne", "value": "red"}, {2, 6, 7}),
    ({"field": "member.attributes.visits", "op": "eq", "value": 5}, {1}),
    ({"field": "member.attributes.visits", "op": "eq", "value": "5"}, {2}),
    ({"field": "member.attributes.visits", "op": "ne", "value": 5}, {2, 4, 6, 7}),
    ({"field": "member.attributes.vip", "op": "eq", "value": True}, {1}),
    ({"field": "member.attributes.vip", "op": "eq", "value": 1}, {6}),
    ({"field": "member.attributes.vip", "op": "ne", "value": True}, {2, 4, 6}),
    ({"field": "member.attributes.store.city", "op": "eq", "value": "Malmö"}, {1}),
    ({"field": "member.attributes.my-key", "op": "eq", "value": "x"}, {6}),
    ({"field": "member.attributes.colour.deeper", "op": "eq", "value": "red"}, set()),
    # order
    ({"field": "member.visits", "op": "gt", "value": 3}, {2, 5}),
    ({"field": "member.visits", "op": "gte", "value": 3}, {1, 2, 5}),
    ({"field": "member.visits", "op": "lt", "value": 1}, {4, 7}),
    ({"field": "member.visits", "op": "lte", "value": 1.5}, {4, 6, 7}),
    ({"field": "member.visits", "op": "gt", "value": "3"}, set()),
    ({"field": "member.visits", "op": "gt", "value": 0.5}, {1, 2, 5, 6}),
    ({"field": "member.visits", "op": "lt", "value": 0.5}, {4, 7}),
    ({"field": "member.visits", "op": "in", "value": [2.5, 1.0, 0.4]}, {6}),
    ({"field": "member.visits", "op": "between", "value": [0.5, 3.5]}, {1, 6}),
    ({"field": "member.score", "op": "gte", "value": 0}, {1, 3, 5, 6, 7}),
    ({"field": "member.active", "op": "gt", "value": False}, set()),
    ({"field": "member.name", "op": "gt", "value": "Anna"}, {2, 4, 5, 6}),
    ({"field": "member.name", "op": "lt", "value": "a"}, {1, 5, 7}),
    ({"field": "member.name", "op": "lte", "value": "ANNA"}, {7}),
    ({"field": "member.seen_at", "op": "gt", "value": "2026-03-01T10:00:00Z"}, {3, 6, 7}),
    ({"field": "member.seen_at", "op": "lt", "value": "2026-03-01"}, {5}),
    ({"field": "member.seen_at", "op": "lte", "value": "2026-03-01T10:00:00"}, {1, 4, 5}),
    ({"field": "member.attributes.visits", "op": "gt", "value": 2}, {1, 4, 6}),
    ({"field": "member.attributes.visits", "op": "lt", "value": 3}, {4, 7}),
    ({"field": "member.attributes.visits", "op": "gte", "value": "5"}, {2}),
    ({"field": "member.attributes.colour", "op": "gt", "value": "red"}, {6}),
    ({"field": "member.attributes.colour", "op": "lt", "value": "a"}, {2, 7}),
    ({"field": "member.attributes.vip", "op": "lt", "value": True}, set()),
    # in / not_in
    ({"field": "member.name", "op": "in", "value": ["Anna", "zoë", "nobody"]}, {1, 6}),
    ({"field": "member.name", "op": "not_in", "value": ["Anna", "zoë"]}, {2, 4, 5, 7}),
    ({"field": "member.name", "op": "in", "value": [1, None]}, set()),
    ({"field": "member.name", "op": "not_in", "value": ["Anna", None]}, {2, 4, 5, 6, 7}),
    ({"field": "member.visits", "op": "in", "value": [0, 10, "3", True]}, {2, 4}),
    ({"field": "member.visits", "op": "not_in", "value": [0, 10]}, {1, 5, 6, 7}),
    ({"field": "member.active", "op": "in", "value": [False]}, {2, 5}),
    ({"field": "member.seen_at", "op": "in", "value": ["2025-01-01T00:00:00", "x"]}, {5}),
    ({"field": "member.attributes.visits", "op": "in", "value": [5, "5", 2.5]}, {1, 2, 4}),
    ({"field": "member.attributes.visits", "op": "not_in", "value": [5, 1000]}, {2, 4, 7}),
    ({"field": "member.attributes.colour", "op": "in", "value": ["red", "Red", True]}, {1, 2}),
    ({"field": "member.attributes.vip", "op": "in", "value": [True, False]}, {1, 4}),
    # between
    ({"field": "member.visits", "op": "between", "value": [1, 7]}, {1, 5, 6}),
    ({"field": "member.visits", "op": "between", "value": [7, 1]}, set()),
    ({"field": "member.visits", "op": "between", "value": [1, "7"]}, set()),
    ({"field": "member.score", "op": "between", "value": [0, 2.5]}, {1, 3, 6, 7}),
    ({"field": "member.name", "op": "between", "value": ["A", "B"]}, {1, 7}),
    (
        {
            "field": "member.seen_at",
            "op": "between",
            "value": ["2026-03-01T09:59:59", "2026-03-01T10:00:00"],
        },
        {1, 4},
    ),
    ({"field": "member.attributes.visits", "op": "between", "value": [-1, 5]}, {1, 4, 7}),
    # contains
    ({"field": "member.name", "op": "contains", "value": "nn"}, {1}),
    ({"field": "member.name", "op": "contains", "value": "NN"}, {7}),
    ({"field": "member.name", "op": "contains", "value": "%"}, {5}),
    ({"field": "member.name", "op": "contains", "value": "_"}, {5}),
    ({"field": "member.name", "op": "contains", "value": "\\"}, {5}),
    ({"field": "member.name", "op": "contains", "value": "ë"}, {6}),
    ({"field": "member.name", "op": "contains", "value": ""}, {1, 2, 4, 5, 6, 7}),
    ({"field": "member.name", "op": "contains", "value": 1}, set()),
    ({"field": "member.visits", "op": "contains", "value": 1}, set()),
    ({"field": "member.attributes.colour", "op": "contains", "value": "ed"}, {1, 2, 6}),
    ({"field": "member.attributes.tags", "op": "contains", "value": "coffee"}, {1, 6, 7}),
    ({"field": "member.attributes.tags", "op": "contains", "value": "Coffee"}, {7}),
    ({"field": "member.attributes.tags", "op": "contains", "value": 1}, {2}),
    ({"field": "member.attributes.tags", "op": "contains", "value": True}, {2}),
    ({"field": "member.attributes.tags", "op": "contains", "value": "off"}, {6}),
    # starts_with
    ({"field": "member.name", "op": "starts_with", "value": "An"}, {1}),
    ({"field": "member.name", "op": "starts_with", "value": "an"}, {2}),
    ({"field": "member.name", "op": "starts_with", "value": "Bo%"}, {5}),
    ({"field": "member.name", "op": "starts_with", "value": "B_"}, set()),
    ({"field": "member.name", "op": "starts_with", "value": "Å"}, {4}),
    ({"field": "member.name", "op": "starts_with", "value": ""}, {1, 2, 4, 5, 6, 7}),
    ({"field": "member.visits", "op": "starts_with", "value": "1"}, set()),
    ({"field": "member.attributes.colour", "op": "starts_with", "value": "red"}, {1, 6}),
    ({"field": "member.attributes.visits", "op": "starts_with", "value": "5"}, {2}),
    # exists
    ({"field": "member.name", "op": "exists", "value": True}, {1, 2, 4, 5, 6, 7}),
    ({"field": "member.name", "op": "exists", "value": False}, {3}),
    ({"field": "member.active", "op": "exists", "value": False}, {3}),
    ({"field": "member.attributes.colour", "op": "exists", "value": True}, {1, 2, 6, 7}),
    ({"field": "member.attributes.colour", "op": "exists", "value": False}, {3, 4, 5}),
    ({"field": "member.attributes.vip", "op": "exists", "value": False}, {3, 5, 7}),
    ({"field": "member.attributes.store.city", "op": "exists", "value": True}, {1, 6}),
    # combinations, and `not` over missing fields
    (
        {"not": {"field": "member.attributes.colour", "op": "eq", "value": "red"}},
        {2, 3, 4, 5, 6, 7},
    ),
    ({"not": {"field": "member.name", "op": "eq", "value": "Anna"}}, {2, 3, 4, 5, 6, 7}),
    ({"not": {"field": "member.visits", "op": "gt", "value": 3}}, {1, 3, 4, 6, 7}),
    ({"not": {"field": "member.attributes.visits", "op": "gt", "value": 2}}, {2, 3, 5, 7}),
    (
        {"not": {"field": "member.attributes.tags", "op": "contains", "value": "coffee"}},
        {2, 3, 4, 5},
    ),
    ({"not": {"not": {"field": "member.attributes.colour", "op": "eq", "value": "red"}}}, {1}),
    ({"all": []}, {1, 2, 3, 4, 5, 6, 7}),
    ({"any": []}, set()),
    (
        {
            "all": [
                {"field": "member.active", "op": "eq", "value": True},
                {"field": "member.visits", "op": "gte", "value": 1},
            ]
        },
        {1, 6},
    ),
    (
        {
            "any": [
                {"field": "member.attributes.colour", "op": "eq", "value": "red"},
                {"not": {"field": "member.visits", "op": "exists", "value": True}},
            ]
        },
        {1, 3},
    ),
    (
        {
            "not": {
                "all": [
                    {"field": "member.score", "op": "gt", "value": 0},
                    {"field": "member.attributes.vip", "op": "exists", "value": True},
                ]
            }
        },
        {2, 3, 4, 5, 7},
    ),
]


def context(row: dict[str, Any]) -> dict[str, Any]:
    return {"member": {k: v for k, v in row.items() if k != "id"}}


def ids_in_memory(condition: Any) -> set[int]:
    return {row["id"] for row in ROWS if matches(condition, context(row))}


@pytest.fixture
def table(session: Session) -> Session:
    connection = session.connection()
    metadata.create_all(connection)
    connection.execute(people.insert(), ROWS)
    return session


def ids_in_sql(session: Session, condition: Any) -> set[int]:
    return set(session.scalars(select(people.c.id).where(to_sql(condition, FIELDS))))


def label(case: tuple[dict[str, Any], set[int]]) -> str:
    return repr(case[0])[:80]


@pytest.mark.parametrize("case", CASES, ids=[label(c) for c in CASES])
def test_matches_in_memory(case: tuple[dict[str, Any], set[int]]) -> None:
    data, expected = case
    condition = parse_condition(data)
    assert ids_in_memory(condition) == expected
    # the compiled form (what the rule engine runs) answers the same for every row
    predicate = compile_condition(condition)
    assert {row["id"] for row in ROWS if predicate(context(row))} == expected


@pytest.mark.parametrize("case", CASES, ids=[label(c) for c in CASES])
def test_to_sql_selects_the_same_rows(
    backend: str, table: Session, case: tuple[dict[str, Any], set[int]]
) -> None:
    data, expected = case
    condition = parse_condition(data)
    assert ids_in_sql(table, condition) == ids_in_memory(condition) == expected


def test_every_operator_is_covered() -> None:
    from typing import get_args

    from lojal.conditions.model import Operator

    used = {data["op"] for data, _ in CASES if "op" in data}
    assert used == set(get_args(Operator))
