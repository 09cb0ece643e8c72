"""``matches()``: the in-memory reader of the condition language (see ``model``)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lojal.conditions.model import AllOf, AnyOf, Compare, Condition, Not

_MISSING = object()


def lookup(context: Mapping[str, Any], path: str) -> Any:
    """Resolve a dotted path. Flat keys win ("line.category" may be stored as is), then nested
    mappings are walked."""
    if path in context:
        return context[path]
    current: Any = context
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return _MISSING
    return current


def matches(condition: Condition, context: Mapping[str, Any]) -> bool:
    if isinstance(condition, AllOf):
        return all(matches(child, context) for child in condition.all)
    if isinstance(condition, AnyOf):
        return any(matches(child, context) for child in condition.any)
    if isinstance(condition, Not):
        return not matches(condition.not_, context)
    return _compare(condition, lookup(context, condition.field))


def _compare(node: Compare, actual: Any) -> bool:
    present = actual is not _MISSING and actual is not None
    if node.op == "exists":
        return present is bool(node.value)
    if not present:
        return False
    value = node.value
    try:
        if node.op == "eq":
            return bool(_same(actual, value))
        if node.op == "ne":
            return not _same(actual, value)
        if node.op == "gt":
            return _order(actual, value) > 0
        if node.op == "gte":
            return _order(actual, value) >= 0
        if node.op == "lt":
            return _order(actual, value) < 0
        if node.op == "lte":
            return _order(actual, value) <= 0
        if node.op == "in":
            return any(_same(actual, v) for v in value)
        if node.op == "not_in":
            return not any(_same(actual, v) for v in value)
        if node.op == "between":
            low, high = value
            return _order(actual, low) >= 0 and _order(actual, high) <= 0
        if node.op == "contains":
            if isinstance(actual, str):
                return isinstance(value, str) and value in actual
            if isinstance(actual, (list, tuple, set, frozenset)):
                return any(_same(item, value) for item in actual)
            return False
        if node.op == "starts_with":
            return isinstance(actual, str) and actual.startswith(value)
    except TypeError:
        return False
    raise AssertionError(f"unhandled operator {node.op}")


def _coerce(actual: Any, value: Any) -> Any:
    """Bring a condition's literal to the type of the field it is compared with."""
    if isinstance(actual, bool) or isinstance(value, bool):
        return value
    if isinstance(actual, datetime) and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise TypeError("text that is not a time compared with a time") from exc
        if parsed.tzinfo is None and actual.tzinfo is not None:
            parsed = parsed.replace(tzinfo=actual.tzinfo)
        return parsed
    if isinstance(actual, date) and not isinstance(actual, datetime) and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise TypeError("text that is not a date compared with a date") from exc
    if isinstance(actual, (int, float, Decimal)) and isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(actual, (int, float, Decimal)) and isinstance(value, str):
        raise TypeError("number compared with text")
    if isinstance(actual, str) and not isinstance(value, str):
        raise TypeError("text compared with a number")
    return value


def _same(actual: Any, value: Any) -> bool:
    if isinstance(actual, bool) != isinstance(value, bool):
        return False
    try:
        return bool(actual == _coerce(actual, value))
    except TypeError:
        return False


def _order(actual: Any, value: Any) -> int:
    if isinstance(actual, bool) or isinstance(value, bool):
        raise TypeError("booleans have no order")
    other = _coerce(actual, value)
    return int(actual > other) - int(actual < other)


Predicate = Callable[[Any], bool]


def compile_condition(
    condition: Condition, getter: Callable[[str], Callable[[Any], Any]] | None = None
) -> Predicate:
    """``matches`` prepared once: the same answer for every context, without walking the tree
    and re-reading the operator on each call (rules run once per purchase line).

    ``getter(path)`` may give a faster way to read a field from the caller's own context
    object; it must return what ``lookup`` would return from the equivalent mapping (a value,
    None, or ``MISSING``). By default the context is a mapping read with ``lookup``."""
    get_field = getter or _mapping_getter
    if isinstance(condition, AllOf):
        children = tuple(compile_condition(child, getter) for child in condition.all)
        return lambda context: all(child(context) for child in children)
    if isinstance(condition, AnyOf):
        options = tuple(compile_condition(child, getter) for child in condition.any)
        return lambda context: any(option(context) for option in options)
    if isinstance(condition, Not):
        inner = compile_condition(condition.not_, getter)
        return lambda context: not inner(context)
    return _compile_compare(condition, get_field(condition.field))


MISSING = _MISSING


def walk(current: Any, parts: Sequence[str]) -> Any:
    """Follow ``parts`` down nested mappings, as ``lookup`` does (``MISSING`` if absent)."""
    for part in parts:
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return _MISSING
    return current


def _mapping_getter(path: str) -> Callable[[Any], Any]:
    parts = tuple(path.split("."))

    def get(context: Any) -> Any:
        if path in context:
            return context[path]
        return walk(context, parts)

    return get


def _compile_compare(node: Compare, get: Callable[[Any], Any]) -> Predicate:
    value = node.value
    # Fast paths for the common shapes; anything else goes through ``_compare``.
    if node.op in ("eq", "in", "not_in") and all(
        isinstance(v, str) for v in (value if isinstance(value, list) else [value])
    ):
        texts = frozenset(value if isinstance(value, list) else [value])
        negate = node.op == "not_in"

        def member(context: Any) -> bool:
            actual = get(context)
            if type(actual) is str:
                return (actual in texts) is not negate
            return _compare(node, actual)

        return member
    if node.op in _ORDERS and (
        type(value) is int or (type(value) is float and math.isfinite(value))
    ):
        test = _ORDERS[node.op]

        def order(context: Any) -> bool:
            actual = get(context)
            if type(actual) is int:
                return test(actual, value)
            return _compare(node, actual)

        return order
    return lambda context: _compare(node, get(context))


_ORDERS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
