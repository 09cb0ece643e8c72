"""Every change of a member's tier goes through ``write``: it stores the new state in
``member_tiers``, has ``members.tier`` set to the higher of the qualified and the paid tier
(``lojal.members.tiers``: members own that table), and — when that changes — appends a
``tier_changes`` row and has a ``tier_changed`` event recorded (event id
``tier_changed:<change id>``; ``lojal.activities.system``: activities own ``events``) in the
same transaction. It returns the events it recorded: the
caller hands them to ``lojal.reactions`` (a reaction returns them to the dispatcher; a job, a
staff decision or a payment dispatches them itself), so that other features (challenges,
automations) can react. Nothing here calls the dispatcher.

Locks: on PostgreSQL every writer of a member's tier first holds the member's balance row
(``point_balances``, ``FOR UPDATE``, in member order) — the lock the purchase path already
takes — so that a purchase, an event, a payment and the job never decide on the same member
at once (``lock_members``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded
from lojal.activities.system import SystemEvent, record_events
from lojal.audit import capture as audit
from lojal.db.driver import Driver
from lojal.ledger import writer as ledger_writer
from lojal.members.tiers import show_tiers
from lojal.tiers import levels
from lojal.tiers.levels import TierState
from lojal.tiers.models import TierChange
from lojal.tiers.schemas import TiersConfig

TIER_CHANGED = "tier_changed"
GRACE_STARTED = "tier_grace_started"


@dataclass(frozen=True, slots=True)
class Decision:
    """A member's tier state after a decision, why, and when it took effect."""

    state: TierState
    reason: str
    effective_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)
    # An event that is not a tier change (grace started): (event id, type, properties).
    notice: tuple[str, str, dict[str, Any]] | None = None


def lock_members(session: Session, member_ids: Sequence[int]) -> None:
    """Hold the members' balance rows (PostgreSQL), in member order; see the module doc."""
    ledger_writer.lock_balances(Driver.of(session), member_ids)


_STATE_COLUMNS = (
    "qualified_tier",
    "qualified_since",
    "review_at",
    "in_grace",
    "grace_to",
    "paid_tier",
    "paid_until",
    "updated_at",
)


def write(
    session: Session,
    tiers: TiersConfig,
    before: dict[int, TierState],
    decisions: Sequence[Decision],
    now: datetime,
) -> list[EventRecorded]:
    """Store decisions set-based — a first import may give thousands of members their tier
    in one batch: the ``member_tiers`` rows, ``members.tier``, one history row and one event
    per change. Returns the events, for the caller to dispatch."""
    if not decisions:
        return []
    db = Driver.of(session)
    time = db.time
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    changes: list[dict[str, Any]] = []
    notices: list[SystemEvent] = []
    for decision in decisions:
        state = decision.state
        values = (
            state.qualified_tier,
            None if state.qualified_since is None else time(state.qualified_since),
            None if state.review_at is None else time(state.review_at),
            state.in_grace,
            state.grace_to,
            state.paid_tier,
            None if state.paid_until is None else time(state.paid_until),
            time(now),
        )
        if before[state.member_id].has_row:
            updates.append((*values, state.member_id))
        else:
            inserts.append((state.member_id, *values))
        old = before[state.member_id].tier
        new = levels.effective(tiers, state)
        if new != old and state.status == "active":
            changes.append(
                {
                    "member_id": state.member_id,
                    "from_tier": old,
                    "to_tier": new,
                    "reason": decision.reason,
                    "effective_at": decision.effective_at,
                    "recorded_at": now,
                    "detail": decision.detail,
                }
            )
        if decision.notice is not None:
            event_id, kind, properties = decision.notice
            notices.append(
                SystemEvent(event_id, state.member_id, kind, decision.effective_at, properties)
            )
    db.insert("member_tiers", ("member_id", *_STATE_COLUMNS), inserts)
    db.many(
        f"UPDATE member_tiers SET {', '.join(f'{c} = ?' for c in _STATE_COLUMNS)} "
        "WHERE member_id = ?",
        updates,
    )
    if not changes and not notices:
        return []
    show_tiers(session, [(c["member_id"], c["to_tier"]) for c in changes], now)
    change_ids: list[int] = []
    if changes:
        change_ids = list(
            session.scalars(
                insert(TierChange).returning(TierChange.id, sort_by_parameter_order=True),
                changes,
            )
        )
    events = [
        SystemEvent(
            f"{TIER_CHANGED}:{change_id}",
            change["member_id"],
            TIER_CHANGED,
            change["effective_at"],
            {
                "from": change["from_tier"],
                "to": change["to_tier"],
                "reason": change["reason"],
                "direction": "up"
                if tiers.rank(change["to_tier"]) > tiers.rank(change["from_tier"])
                else "down",
            },
        )
        for change_id, change in zip(change_ids, changes, strict=True)
    ]
    # tier_changes and member_tiers are written outside the ORM's unit of work: the audit
    # trail is told here, one record per change, with the session's actor (the key, the
    # command's user, or system for the job and the reactions)
    audit.record_many(
        session,
        [
            audit.Change(
                action="tier.changed",
                entity="tier_changes",
                entity_id=change_id,
                about_member_id=change["member_id"],
                before={"tier": change["from_tier"]},
                after={
                    "tier": change["to_tier"],
                    "reason": change["reason"],
                    **({"note": change["detail"]["note"]} if change["detail"].get("note") else {}),
                },
            )
            for change_id, change in zip(change_ids, changes, strict=True)
        ],
        now=now,
    )
    return record_events(session, [*events, *notices], now)
