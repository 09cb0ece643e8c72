"""What a condition may read where it is used: a *catalogue* of fields per context.

A condition names its fields as text (``line.category``), so a typo (``line.categroy``) is a
well-formed condition that reads nothing and never matches. Every feature that saves a
condition therefore declares the fields its context gives (an earning rule on a purchase, an
event challenge …) and checks the condition against them when it is saved::

    PURCHASE = Catalogue(("line.sku", "line.category", ...), prefixes=("member.attributes.",))
    PURCHASE.refusal(condition)
    # "unknown field 'line.categroy'; fields: line.sku, line.category, ..., member.attributes.<key>"

A prefix stands for any key below it: the attributes a club gives its members or purchases are
its own, so ``member.attributes.favourite_store`` is known whatever the key.

A condition already stored when its context learnt to check (a programme applied before) is
read again without the check (``STORED`` as the validation context): it keeps loading and
means what it meant; saving it again names the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lojal.conditions.model import Condition, fields_of

# The validation context under which stored conditions are read back unchecked.
STORED: Mapping[str, Any] = {"stored": True}


def checking(context: Any) -> bool:
    """Whether a validation with ``context`` (pydantic's ``info.context``) checks fields."""
    return not (isinstance(context, Mapping) and context.get("stored") is True)


@dataclass(frozen=True)
class Catalogue:
    """The fields a condition may read in one context, in the order a person would list them."""

    fields: tuple[str, ...]
    prefixes: tuple[str, ...] = ()
    _known: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_known", frozenset(self.fields))

    def knows(self, path: str) -> bool:
        if path in self._known:
            return True
        return any(path.startswith(p) and len(path) > len(p) for p in self.prefixes)

    def unknown(self, paths: Iterable[str]) -> list[str]:
        """The paths this context does not give, sorted."""
        return sorted(p for p in set(paths) if not self.knows(p))

    def listing(self) -> str:
        return ", ".join([*self.fields, *(p + "<key>" for p in self.prefixes)])

    def unknown_field(self, path: str) -> str:
        return f"unknown field {path!r}; fields: {self.listing()}"

    def refusal(self, condition: Condition) -> str | None:
        """Why ``condition`` cannot be saved here (its first unknown field), or None."""
        unknown = self.unknown(fields_of(condition))
        return self.unknown_field(unknown[0]) if unknown else None
