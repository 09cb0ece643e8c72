"""Bad conditions are refused with a message that says what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Column, Integer, MetaData, Table

from lojal.conditions.compile import Fields, to_sql
from lojal.conditions.model import dump_condition, fields_of, parse_condition
from lojal.errors import Invalid


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"field": "line.sku", "op": "like", "value": "x"}, "'eq', 'ne'"),
        ({"field": "line.sku", "op": "in", "value": "coffee"}, "'in' needs a non-empty list"),
        ({"field": "line.sku", "op": "in", "value": []}, "'in' needs a non-empty list"),
        ({"field": "line.sku", "op": "not_in", "value": 3}, "'not_in' needs a non-empty list"),
        ({"field": "line.total", "op": "between", "value": [1]}, "'between' needs a list"),
        ({"field": "line.sku", "op": "exists", "value": "yes"}, "'exists' needs true or false"),
        ({"field": "line.sku", "op": "starts_with", "value": 1}, "'starts_with' needs a text"),
        ({"field": "line.sku", "op": "eq", "value": None}, "'eq' needs a single"),
        ({"field": "line.sku", "op": "eq", "value": ["a"]}, "'eq' needs a single"),
        ({"field": "Line.SKU", "op": "eq", "value": "a"}, "pattern"),
        ({"field": "line..sku", "op": "eq", "value": "a"}, "pattern"),
        ({"field": "line.sku; drop", "op": "eq", "value": "a"}, "pattern"),
        ({"field": "line.sku", "op": "eq", "value": "a", "extra": 1}, "extra"),
        ({"colour": "red"}, "one of the keys all, any, not or field"),
        ({"all": {"field": "a", "op": "eq", "value": 1}}, "list"),
        ("red", "one of the keys all, any, not or field"),
    ],
)
def test_bad_conditions_are_refused_clearly(data: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_condition(data)
    assert message in str(info.value)


def test_nested_errors_name_where_they_are() -> None:
    with pytest.raises(ValidationError) as info:
        parse_condition(
            {
                "all": [
                    {"field": "a", "op": "eq", "value": 1},
                    {"not": {"field": "b", "op": "in", "value": 2}},
                ]
            }
        )
    (error,) = info.value.errors()
    assert error["loc"][:4] == ("condition", "all", "all", 1)
    assert "'in' needs a non-empty list" in error["msg"]


def test_a_condition_round_trips_and_lists_its_fields() -> None:
    data = {
        "all": [
            {"field": "line.category", "op": "in", "value": ["coffee", "tea"]},
            {"not": {"field": "purchase.channel", "op": "eq", "value": "web"}},
            {"any": [{"field": "purchase.weekday", "op": "in", "value": ["sat"]}]},
        ]
    }
    condition = parse_condition(data)
    assert parse_condition(dump_condition(condition)) == condition
    assert fields_of(condition) == {"line.category", "purchase.channel", "purchase.weekday"}


def test_to_sql_refuses_an_unknown_field() -> None:
    table = Table("t", MetaData(), Column("visits", Integer))
    fields = Fields(columns={"member.visits": table.c.visits})
    with pytest.raises(Invalid, match=r"unknown field 'member\.name'") as info:
        to_sql(parse_condition({"field": "member.name", "op": "eq", "value": "x"}), fields)
    assert info.value.field == "member.name"
    to_sql(parse_condition({"field": "member.visits", "op": "eq", "value": 1}), fields)
