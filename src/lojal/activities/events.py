"""The facts the club's features react to: plain values, built by the one place that records
each fact and handed to ``lojal.reactions``, which passes them to every feature that reacts.

* ``PurchaseRecorded`` — a member's purchase, its rows and points written (``lines`` are its
  ``LineFacts``, what the earning rules and challenges read of each line);
* ``ReturnRecorded`` — a return recorded for a member's purchase, its points clawed back;
* ``EventRecorded`` — a custom event recorded for a member, or one lojal records itself
  (``tier_changed``, ``membership_started``, ``member_merged``, ...);
* ``MemberMerged`` — two members became one (``lojal.members.merging``); it is recorded as
  the ``member_merged`` event of the member that carries on.

This module imports nothing of lojal, so that every feature can take the values without
entering the dispatcher (``lojal.reactions`` imports the features, never the reverse).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MEMBER_MERGED = "member_merged"


@dataclass(frozen=True, slots=True)
class LineFacts:
    sku: str
    quantity: int
    unit_price_minor: int
    total_minor: int
    name: str | None = None
    category: str | None = None

    @classmethod
    def of(
        cls,
        sku: str,
        unit_price_minor: int,
        quantity: int = 1,
        *,
        name: str | None = None,
        category: str | None = None,
        total_minor: int | None = None,
    ) -> LineFacts:
        """A line whose total is quantity × unit price unless given (a discounted line)."""
        total = quantity * unit_price_minor if total_minor is None else total_minor
        return cls(sku, quantity, unit_price_minor, total, name, category)


@dataclass(frozen=True, slots=True)
class PurchaseRecorded:
    purchase_id: int
    order_id: str
    member_id: int
    occurred_at: datetime
    channel: str
    store_id: str | None
    total_minor: int
    points: int
    lines: Sequence[LineFacts]
    first_purchase: bool


@dataclass(frozen=True, slots=True)
class ReturnRecorded:
    return_id: int  # the row id
    purchase_id: int
    order_id: str
    member_id: int
    occurred_at: datetime
    total_minor: int  # money returned by this return
    points_clawed_back: int
    whole_order_returned: bool


@dataclass(frozen=True, slots=True)
class EventRecorded:
    event_id: int  # the row id
    member_id: int
    type: str
    occurred_at: datetime
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MemberMerged:
    """Member ``from_member_id`` became part of ``member_id`` (the one that carries on);
    ``moved`` says, per feature, what the merge did to its rows."""

    member_id: int
    from_member_id: int
    occurred_at: datetime
    moved: Mapping[str, Mapping[str, Any]]

    @property
    def event_id(self) -> str:
        """The natural id of its ``member_merged`` event: a member is merged away once."""
        return f"{MEMBER_MERGED}:{self.from_member_id}"

    def properties(self) -> dict[str, Any]:
        """The ``member_merged`` event's properties."""
        return {"from_member_id": self.from_member_id, "moved": dict(self.moved)}


# What ``lojal.reactions.dispatch`` routes (a merge reaches the features as its event).
Fact = PurchaseRecorded | ReturnRecorded | EventRecorded
