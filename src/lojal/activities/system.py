"""Events lojal records itself (``tier_changed``, ``membership_started``, ``member_merged``,
``segment_entered``, ...).

``activities`` owns the ``events`` table: the features that decide such facts (tiers, paid
memberships, the merge) hand them here to be stored, then dispatch what this returns
(``lojal.reactions``) so that the other features react to them like to any recorded event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded
from lojal.activities.models import Event

# Events lojal records itself: they earn nothing and do not make a member qualify.
SYSTEM_EVENT_PREFIXES = (
    "tier_",
    "membership_",
    "member_merged",
    "member_erased",
    "segment_",
    "reward_redeemed",
    "challenge_completed",
)


@dataclass(frozen=True, slots=True)
class SystemEvent:
    """An event lojal records itself, before it is stored."""

    event_id: str  # natural: re-recording the same fact is refused by the unique event id
    member_id: int
    type: str
    occurred_at: datetime
    properties: dict[str, Any]


def record_events(
    session: Session, events: Sequence[SystemEvent], now: datetime
) -> list[EventRecorded]:
    """Store the events in one statement; return them as recorded facts for the caller to
    dispatch."""
    if not events:
        return []
    ids = session.scalars(
        insert(Event).returning(Event.id, sort_by_parameter_order=True),
        [
            {
                "event_id": event.event_id,
                "member_id": event.member_id,
                "type": event.type,
                "occurred_at": event.occurred_at,
                "properties": event.properties,
                "points": 0,
                "recorded_at": now,
            }
            for event in events
        ],
    )
    return [
        EventRecorded(
            event_id=row_id,
            member_id=event.member_id,
            type=event.type,
            occurred_at=event.occurred_at,
            properties=dict(event.properties),
        )
        for row_id, event in zip(ids, events, strict=True)
    ]
