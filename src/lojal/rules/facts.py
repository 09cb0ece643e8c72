"""The values the earning engine takes and gives: the facts of a purchase, an event and the
member, the club's ruleset, and the award (its points per line, per rule, and the explanation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from lojal.activities.events import LineFacts
from lojal.rules.schemas import Rule

__all__ = [
    "NO_AWARD",
    "WEEKDAYS",
    "Award",
    "AwardPart",
    "EventFacts",
    "LineFacts",
    "MemberFacts",
    "PurchaseFacts",
    "RuleSet",
    "Stacking",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Stacking = Literal["multiply", "add", "max"]


@dataclass(frozen=True, slots=True)
class PurchaseFacts:
    occurred_at: datetime
    channel: str
    total_minor: int
    lines: Sequence[LineFacts]
    store_id: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventFacts:
    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class MemberFacts:
    first_purchase: bool = False
    enrolment_channel: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    tier: str | None = None  # the member's current tier (its code), when the club has tiers


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: Sequence[Rule]
    timezone: str
    currency: str
    minor_units: int = 2
    stacking: Stacking = "multiply"
    point_name: str = "points"

    @property
    def capped(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.cap is not None]


@dataclass(frozen=True, slots=True)
class AwardPart:
    rule_id: str
    points: int
    text: str
    capped: bool = False


@dataclass(frozen=True, slots=True)
class Award:
    points: int
    line_points: tuple[int, ...]
    order_points: int
    parts: tuple[AwardPart, ...]
    explanation: str

    @property
    def by_rule(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for part in self.parts:
            out[part.rule_id] = out.get(part.rule_id, 0) + part.points
        return out


NO_AWARD = Award(0, (), 0, (), "")
