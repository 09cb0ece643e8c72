"""Tier reactions: a member is upgraded at once, in the transaction of the purchases or events
that lift them (called from ``lojal.reactions``), and a new member starts in the tier everyone
has. Returns do not downgrade at once: the review at the period end does
(``lojal.tiers.reviews``).

Each reaction returns the events it recorded (``tier_changed``) for the dispatcher to pass on;
it never calls the dispatcher itself. Nothing here runs twice for the same fact: an upgrade
happens when the stored tier is below what the member qualifies for, so a replayed batch finds
nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded, PurchaseRecorded
from lojal.activities.system import SYSTEM_EVENT_PREFIXES
from lojal.members.models import Member
from lojal.program.schemas import ProgramConfig
from lojal.tiers import levels, queries
from lojal.tiers import qualification as q
from lojal.tiers.changes import Decision, lock_members, write
from lojal.tiers.levels import TierState
from lojal.tiers.schemas import TiersConfig


def on_purchases(
    session: Session, purchases: Sequence[PurchaseRecorded], now: datetime
) -> list[EventRecorded]:
    """Upgrade, in the purchases' transaction, every member of the batch whose total in the
    current window now reaches a higher tier. The purchase path already holds the members'
    balance rows."""
    found = levels.configured(session)
    if found is None or not purchases:
        return []
    config, tiers = found
    return _requalify(session, config, tiers, sorted({p.member_id for p in purchases}), now)


def on_events(
    session: Session, events: Sequence[EventRecorded], now: datetime
) -> list[EventRecorded]:
    """On the points basis, points from events (a review, a survey) count too."""
    member_ids = sorted(
        {e.member_id for e in events if not e.type.startswith(SYSTEM_EVENT_PREFIXES)}
    )
    if not member_ids:
        return []
    found = levels.configured(session)
    if found is None or found[1].basis != "points":
        return []
    lock_members(session, member_ids)
    return _requalify(session, found[0], found[1], member_ids, now)


def requalify(session: Session, *, member_ids: Sequence[int], now: datetime) -> list[EventRecorded]:
    """Upgrade these members if they now qualify for a higher tier: for features that award
    points outside purchases and events (on the points basis, a merge can lift a member)."""
    found = levels.configured(session)
    if found is None or not member_ids:
        return []
    lock_members(session, member_ids)
    return _requalify(session, found[0], found[1], sorted(set(member_ids)), now)


def _requalify(
    session: Session,
    config: ProgramConfig,
    tiers: TiersConfig,
    member_ids: Sequence[int],
    now: datetime,
) -> list[EventRecorded]:
    top = len(tiers.levels) - 1
    before = queries.states(session, member_ids)
    # Only members who could move up: below the top, or in grace (requalifying keeps the tier).
    candidates = [
        s
        for s in before.values()
        if s.status == "active" and (tiers.rank(s.qualified_tier) < top or s.in_grace)
    ]
    if not candidates:
        return []
    window = q.current_window(tiers.period, now, config.timezone)
    totals = queries.totals(session, tiers.basis, {s.member_id: window for s in candidates})
    decisions: list[Decision] = []
    for state in candidates:
        total = totals.get(state.member_id, 0)
        reached = q.qualified_rank(tiers.thresholds, total)
        current = tiers.rank(state.qualified_tier)
        if reached < current or (reached == current and not state.in_grace):
            continue
        # A higher tier, or the tier in grace reached again: a new tier period from now.
        rank = max(reached, current)
        decisions.append(
            Decision(
                replace(
                    state,
                    qualified_tier=levels.code(tiers, rank),
                    qualified_since=now if reached > current else state.qualified_since,
                    review_at=levels.review_after(config, tiers, rank, now),
                    in_grace=False,
                    grace_to=None,
                ),
                "qualified",
                now,
                {"total": total, **levels.window_detail(window)},
            )
        )
    return write(session, tiers, before, decisions, now)


def on_enrolment(session: Session, member: Member, now: datetime) -> list[EventRecorded]:
    """A new member starts in the lowest tier when everyone has it (threshold 0)."""
    found = levels.configured(session)
    if found is None or found[1].floor < 0:
        return []
    tiers = found[1]
    state = TierState(member_id=member.id, status=member.status, tier=member.tier)
    joined = replace(state, qualified_tier=tiers.levels[0].code, qualified_since=now)
    return write(session, tiers, {member.id: state}, [Decision(joined, "joined", now)], now)
