"""Event triggers: the reactions (``lojal.reactions``) that enter members into journeys in
the transaction that recorded what they did — a purchase, a return, an event (custom, or
lojal's own: ``tier_changed``, ``reward_redeemed``, ``challenge_completed``,
``segment_entered`` / ``segment_left``), an enrolment. Each is one read of the enabled
journeys with such a trigger (usually none: then nothing more), and per journey one audience
query over the members touched and one insert of the runs and one of their jobs
(``journeys.entry``). Safe to run twice: a run is keyed on its occasion."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded, PurchaseRecorded, ReturnRecorded
from lojal.journeys.definition import Trigger
from lojal.journeys.entry import enabled, enter

EVENT_TRIGGERS = {
    "tier_changed": "tier_changed",
    "reward_redeemed": "reward_redeemed",
    "challenge_completed": "challenge_completed",
    "segment_entered": "segment_entered",
    "segment_left": "segment_left",
}


def on_purchases(session: Session, purchases: Sequence[PurchaseRecorded], now: datetime) -> None:
    for journey, definition in enabled(session, ("purchase", "first_purchase")):
        first = definition.trigger.kind == "first_purchase"
        candidates = [
            (p.member_id, f"purchase:{p.purchase_id}")
            for p in purchases
            if p.first_purchase or not first
        ]
        enter(session, journey, definition, candidates, now)


def on_returns(session: Session, returns: Sequence[ReturnRecorded], now: datetime) -> None:
    for journey, definition in enabled(session, ("return",)):
        candidates = [(r.member_id, f"return:{r.return_id}") for r in returns]
        enter(session, journey, definition, candidates, now)


def fires(trigger: Trigger, event: EventRecorded) -> bool:
    """Whether a recorded event fires an event-kind trigger."""
    if trigger.kind == "event":
        return event.type == trigger.event_type
    if EVENT_TRIGGERS.get(trigger.kind) != event.type:
        return False
    props = event.properties
    if trigger.kind in ("segment_entered", "segment_left"):
        return props.get("segment_code") == trigger.segment
    if trigger.kind == "tier_changed":
        if props.get("from") is None:  # the first tier, given at enrolment: not a change
            return False
        if trigger.to is not None and props.get("to") not in trigger.to:
            return False
        if trigger.direction is not None and props.get("direction") != trigger.direction:
            return False
    return True


def on_events(session: Session, events: Sequence[EventRecorded], now: datetime) -> None:
    for journey, definition in enabled(session, ("event", *EVENT_TRIGGERS)):
        candidates = [
            (e.member_id, f"event:{e.event_id}") for e in events if fires(definition.trigger, e)
        ]
        enter(session, journey, definition, candidates, now)


def on_enrolment(session: Session, member_id: int, now: datetime) -> None:
    for journey, definition in enabled(session, ("enrolled",)):
        enter(session, journey, definition, [(member_id, "enrolled")], now)
