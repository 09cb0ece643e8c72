"""The condition language: one tree of data with two readers.

A condition is JSON (or YAML) that a marketer can read::

    {"all": [
        {"field": "line.category", "op": "in", "value": ["coffee", "tea"]},
        {"not": {"field": "purchase.channel", "op": "eq", "value": "web"}},
        {"any": [{"field": "purchase.weekday", "op": "in", "value": ["sat", "sun"]},
                 {"field": "purchase.total_minor", "op": "gte", "value": 50000}]}
    ]}

* ``all`` / ``any`` / ``not`` combine conditions; an empty ``all`` is true, an empty ``any``
  false.
* A comparison names a ``field`` (a dotted path such as ``line.category`` or
  ``member.attributes.favourite_store``), an ``op`` and a ``value``.
* Operators: ``eq ne gt gte lt lte`` (compare), ``in not_in`` (membership in a list),
  ``between`` (``[low, high]``, both inclusive), ``contains`` (substring of a text, or element
  of a list), ``starts_with`` (text prefix), ``exists`` (``value`` true: the field is present and
  not null; false: it is absent or null).
* A field that is absent or null never satisfies a comparison (only ``exists: false`` matches
  it) — the same answer SQL gives, so ``matches()`` in memory (earning rules, challenges) and
  ``to_sql()`` (segments) agree on every row.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

Operator = Literal[
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "between",
    "contains",
    "starts_with",
    "exists",
]
FIELD_PATTERN = r"^[a-z_][a-z0-9_]*(\.[A-Za-z0-9_\-]+)*$"


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Compare(_Node):
    field: str = Field(pattern=FIELD_PATTERN, max_length=200)
    op: Operator
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Compare:
        v = self.value
        if self.op in ("in", "not_in"):
            if not isinstance(v, list) or not v:
                raise ValueError(f"'{self.op}' needs a non-empty list as value")
        elif self.op == "between":
            if not isinstance(v, list) or len(v) != 2:
                raise ValueError("'between' needs a list [low, high] as value")
        elif self.op == "exists":
            if not isinstance(v, bool):
                raise ValueError("'exists' needs true or false as value")
        elif self.op == "starts_with":
            if not isinstance(v, str):
                raise ValueError("'starts_with' needs a text value")
        elif v is None or isinstance(v, (list, dict)):
            raise ValueError(f"'{self.op}' needs a single text, number or boolean value")
        return self


class AllOf(_Node):
    all: list[Condition]


class AnyOf(_Node):
    any: list[Condition]


class Not(_Node):
    not_: Condition = Field(alias="not")


def _kind(data: Any) -> str | None:
    if isinstance(data, dict):
        for key in ("all", "any", "not", "field"):
            if key in data:
                return key
        return None
    if isinstance(data, AllOf):
        return "all"
    if isinstance(data, AnyOf):
        return "any"
    if isinstance(data, Not):
        return "not"
    if isinstance(data, Compare):
        return "field"
    return None


Condition = Annotated[
    Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")]
    | Annotated[Compare, Tag("field")],
    Discriminator(
        _kind,
        custom_error_type="invalid_condition",
        custom_error_message="a condition has one of the keys all, any, not or field",
    ),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


class _Holder(BaseModel):
    condition: Condition


def parse_condition(data: Any) -> Condition:
    """Validate JSON-like data into a condition tree (raises pydantic's ValidationError)."""
    return _Holder.model_validate({"condition": data}).condition


def dump_condition(condition: Condition) -> dict[str, Any]:
    return condition.model_dump(by_alias=True, exclude_none=False)


def fields_of(condition: Condition) -> set[str]:
    """Every field a condition reads."""
    if isinstance(condition, Compare):
        return {condition.field}
    if isinstance(condition, Not):
        return fields_of(condition.not_)
    children = condition.all if isinstance(condition, AllOf) else condition.any
    out: set[str] = set()
    for child in children:
        out |= fields_of(child)
    return out
