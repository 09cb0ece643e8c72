"""``to_sql()``: the SQL reader of the condition language (see ``model``).

The caller says which column each field is (``Fields``): a plain column, or a JSON column for
a prefix such as ``member.attributes`` whose sub-paths are read from the JSON document.

The SQL must select exactly the rows for which ``matches()`` is true, on SQLite and on
PostgreSQL alike, so:

* every comparison is guarded so that NULL (or an absent JSON key) gives *false* rather than
  SQL's *unknown*; ``not`` then behaves as it does in memory;
* a value of another type never compares: ``matches()`` refuses to compare text with a number
  or a boolean with anything else, so a comparison with a literal of the wrong type is false
  (and ``ne``/``not_in`` true for any present value). A JSON value's type is checked per row;
* text compares by code point (``COLLATE "C"`` on PostgreSQL), and ``contains`` and
  ``starts_with`` are case-sensitive on both databases (no ``LIKE``, which SQLite folds).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    ColumnElement,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement as _ColumnElement
from sqlalchemy.types import TypeDecorator

from lojal.conditions.model import AllOf, AnyOf, Compare, Condition, Not
from lojal.errors import Invalid

Kind = Literal["text", "number", "bool", "datetime", "date"]


# ---------------------------------------------------------------- dialect-specific pieces


class _TextIn(_ColumnElement[bool]):
    """``needle`` occurs in ``haystack``, case-sensitively."""

    inherit_cache = True
    type = Boolean()

    def __init__(self, haystack: ColumnElement[Any], needle: str) -> None:
        self.haystack = haystack
        self.needle = literal(needle)


@compiles(_TextIn)
def _text_in_default(element: _TextIn, compiler: SQLCompiler, **kw: Any) -> str:
    return (
        f"(instr({compiler.process(element.haystack, **kw)}, "
        f"{compiler.process(element.needle, **kw)}) > 0)"
    )


@compiles(_TextIn, "postgresql")
def _text_in_pg(element: _TextIn, compiler: SQLCompiler, **kw: Any) -> str:
    return (
        f"(strpos({compiler.process(element.haystack, **kw)}, "
        f"{compiler.process(element.needle, **kw)}) > 0)"
    )


class _CodePoint(_ColumnElement[str]):
    """Text compared by code point, as Python compares strings."""

    inherit_cache = True

    def __init__(self, expr: ColumnElement[Any]) -> None:
        self.expr = expr
        self.type = expr.type


@compiles(_CodePoint)
def _code_point_default(element: _CodePoint, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.expr, **kw)  # SQLite's default collation is BINARY


@compiles(_CodePoint, "postgresql")
def _code_point_pg(element: _CodePoint, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.expr, **kw)} COLLATE "C")'


_SQLITE_TYPES: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "number": ("integer", "real"),
    "bool": ("true", "false"),
    "array": ("array",),
    "present": ("text", "integer", "real", "true", "false", "array", "object"),
}
_PG_TYPES: dict[str, tuple[str, ...]] = {
    "text": ("string",),
    "number": ("number",),
    "bool": ("boolean",),
    "array": ("array",),
    "present": ("string", "number", "boolean", "array", "object"),
}


def _sql_strings(values: Sequence[str]) -> str:
    return ", ".join("'" + v + "'" for v in values)  # fixed words from the tables above


class _JsonIs(_ColumnElement[bool]):
    """The JSON value at ``keys`` is of ``kind`` (never NULL: an absent key is 'null')."""

    inherit_cache = True
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], keys: tuple[str, ...], kind: str) -> None:
        self.column = column
        self.sqlite_path = literal("$" + "".join(f'."{k}"' for k in keys))
        self.pg_path = literal("{" + ",".join(f'"{k}"' for k in keys) + "}")
        self.kind = kind


@compiles(_JsonIs)
def _json_is_sqlite(element: _JsonIs, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    path = compiler.process(element.sqlite_path, **kw)
    return (
        f"(coalesce(json_type({column}, {path}), 'null') IN "
        f"({_sql_strings(_SQLITE_TYPES[element.kind])}))"
    )


@compiles(_JsonIs, "postgresql")
def _json_is_pg(element: _JsonIs, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    path = compiler.process(element.pg_path, **kw)
    return (
        f"(coalesce(jsonb_typeof(CAST({column} AS JSONB) #> CAST({path} AS TEXT[])), "
        f"'null') IN ({_sql_strings(_PG_TYPES[element.kind])}))"
    )


class _JsonArrayHas(_ColumnElement[bool]):
    """The JSON array at ``keys`` has an element equal to ``value`` (of the same type)."""

    inherit_cache = True
    type = Boolean()

    def __init__(
        self, column: ColumnElement[Any], keys: tuple[str, ...], value: Any, kind: Kind
    ) -> None:
        self.column = column
        self.sqlite_path = literal("$" + "".join(f'."{k}"' for k in keys))
        self.pg_path = literal("{" + ",".join(f'"{k}"' for k in keys) + "}")
        self.value = literal(value)
        self.pg_value = literal(json.dumps([value]))
        self.kind = kind


@compiles(_JsonArrayHas)
def _json_array_has_sqlite(element: _JsonArrayHas, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    path = compiler.process(element.sqlite_path, **kw)
    value = compiler.process(element.value, **kw)
    return (
        f"EXISTS (SELECT 1 FROM json_each({column}, {path}) AS lojal_item WHERE "
        f"lojal_item.type IN ({_sql_strings(_SQLITE_TYPES[element.kind])}) "
        f"AND lojal_item.value = {value})"
    )


@compiles(_JsonArrayHas, "postgresql")
def _json_array_has_pg(element: _JsonArrayHas, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    path = compiler.process(element.pg_path, **kw)
    value = compiler.process(element.pg_value, **kw)
    return f"(CAST({column} AS JSONB) #> CAST({path} AS TEXT[]) @> CAST({value} AS JSONB))"


# ---------------------------------------------------------------- fields


@dataclass(frozen=True)
class _Target:
    """Where a field's value is: a typed column, or a path in a JSON document."""

    column: ColumnElement[Any]
    kind: Kind | None = None
    keys: tuple[str, ...] | None = None

    def present(self) -> ColumnElement[bool]:
        if self.keys is not None:
            return _JsonIs(self.column, self.keys, "present")
        return self.column.is_not(None)

    def typed(self, kind: Kind) -> tuple[ColumnElement[bool], ColumnElement[Any]] | None:
        """(guard, value expression) for reading the field as ``kind``; None if it never is."""
        if self.keys is None:
            return (true(), self.column) if kind == self.kind else None
        element = self.column[self.keys]
        if kind == "text":
            return _JsonIs(self.column, self.keys, "text"), element.as_string()
        if kind == "number":
            return _JsonIs(self.column, self.keys, "number"), element.as_float()
        if kind == "bool":
            return _JsonIs(self.column, self.keys, "bool"), element.as_boolean()
        return None


def _kind_of_column(column: ColumnElement[Any]) -> Kind:
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    try:
        python_type = sql_type.python_type
    except NotImplementedError:
        return "text"
    if issubclass(python_type, bool):
        return "bool"
    if issubclass(python_type, (int, float, Decimal)):
        return "number"
    if issubclass(python_type, datetime):
        return "datetime"
    if issubclass(python_type, date):
        return "date"
    return "text"


@dataclass(frozen=True)
class Fields:
    columns: Mapping[str, ColumnElement[Any]]
    json_columns: Mapping[str, ColumnElement[Any]] = field(default_factory=dict)

    def target(self, path: str) -> _Target:
        if path in self.columns:
            column = self.columns[path]
            return _Target(column, _kind_of_column(column))
        for prefix, column in self.json_columns.items():
            if path.startswith(prefix + "."):
                return _Target(column, keys=tuple(path[len(prefix) + 1 :].split(".")))
        raise Invalid(f"unknown field {path!r}", field=path)


# ---------------------------------------------------------------- conditions


def to_sql(condition: Condition, fields: Fields) -> ColumnElement[bool]:
    if isinstance(condition, AllOf):
        return and_(true(), *(to_sql(child, fields) for child in condition.all))
    if isinstance(condition, AnyOf):
        return or_(false(), *(to_sql(child, fields) for child in condition.any))
    if isinstance(condition, Not):
        return not_(to_sql(condition.not_, fields))
    return _compare(condition, fields.target(condition.field))


def _literal(target: _Target, value: Any) -> tuple[Kind, Any] | None:
    """The kind a literal compares as and its SQL value, the way ``matches()`` coerces it; None
    when it can never equal or be ordered against the field."""
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, (int, float, Decimal)):
        return "number", value
    if isinstance(value, datetime):
        return "datetime", value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        if target.kind == "datetime":
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                return None
            return "datetime", parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if target.kind == "date":
            try:
                return "date", date.fromisoformat(value)
            except ValueError:
                return None
        return "text", value
    return None


def _guarded(guard: ColumnElement[bool], expr: ColumnElement[bool]) -> ColumnElement[bool]:
    if guard is true():
        return expr
    # CASE, not AND: PostgreSQL does not promise to test the type before casting the value.
    return case((guard, expr), else_=false())


def _when(
    target: _Target,
    value: Any,
    build: Callable[[ColumnElement[Any], Any], ColumnElement[bool]],
    *,
    ordered: bool = False,
) -> ColumnElement[bool]:
    """``build(field, value)`` for rows whose value has the literal's kind; false elsewhere."""
    coerced = _literal(target, value)
    if coerced is None:
        return false()
    kind, sql_value = coerced
    if ordered and kind == "bool":
        return false()  # booleans have no order
    typed = target.typed(kind)
    if typed is None:
        return false()
    guard, expr = typed
    if kind == "text":
        expr = _CodePoint(expr)
    if kind == "number":
        # typed by the literal, not the column: 0.5 must not become an INTEGER 1
        sql_value = literal(sql_value)
    return _guarded(guard, build(expr, sql_value))


def _equals_any(target: _Target, values: Sequence[Any]) -> ColumnElement[bool]:
    by_kind: dict[Kind, list[Any]] = {}
    for value in values:
        coerced = _literal(target, value)
        if coerced is not None:
            by_kind.setdefault(coerced[0], []).append(coerced[1])
    parts = []
    for kind, group in by_kind.items():
        typed = target.typed(kind)
        if typed is None:
            continue
        guard, expr = typed
        if kind == "text":
            expr = _CodePoint(expr)
        if kind == "number":
            # typed by each literal, not the column: 2.5 must not become an INTEGER 2
            equal = or_(*(expr == literal(value) for value in group))
        else:
            equal = expr == group[0] if len(group) == 1 else expr.in_(group)
        parts.append(_guarded(guard, equal))
    return or_(false(), *parts)


_ORDER: dict[str, Callable[[ColumnElement[Any], Any], ColumnElement[bool]]] = {
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
}


def _compare(node: Compare, target: _Target) -> ColumnElement[bool]:
    present = target.present()
    value = node.value
    if node.op == "exists":
        return present if value else not_(present)
    if node.op == "eq":
        return and_(present, _equals_any(target, [value]))
    if node.op == "ne":
        return and_(present, not_(_equals_any(target, [value])))
    if node.op == "in":
        return and_(present, _equals_any(target, value))
    if node.op == "not_in":
        return and_(present, not_(_equals_any(target, value)))
    if node.op in _ORDER:
        return and_(present, _when(target, value, _ORDER[node.op], ordered=True))
    if node.op == "between":
        low, high = value
        return and_(
            present,
            _when(target, low, _ORDER["gte"], ordered=True),
            _when(target, high, _ORDER["lte"], ordered=True),
        )
    if node.op == "starts_with":
        return and_(
            present,
            _when(target, value, lambda c, v: func.substr(c, 1, len(v)) == v)
            if isinstance(value, str)
            else false(),
        )
    if node.op == "contains":
        return and_(present, _contains(target, value))
    raise AssertionError(node.op)  # pragma: no cover - the model admits no other operator


def _contains(target: _Target, value: Any) -> ColumnElement[bool]:
    text = _when(target, value, _TextIn) if isinstance(value, str) else false()
    if target.keys is None:
        return text
    coerced = _literal(target, value)
    if coerced is None:
        return text
    kind, sql_value = coerced
    in_array = _guarded(
        _JsonIs(target.column, target.keys, "array"),
        _JsonArrayHas(target.column, target.keys, sql_value, kind),
    )
    return or_(text, in_array)
