"""Tier reviews, a step of ``lojal jobs run``: at the end of a member's tier period (or grace
period) the tier is kept, a grace period starts, or it falls — never more levels than the
policy allows; and members who enrolled before the club had tiers get the tier everyone has.

A review moves ``review_at`` forward, so a second run of the job finds nothing to do. Each
step returns how many members it decided on and the events it recorded (``tier_changed``,
``tier_grace_started``); the job dispatches them (``lojal.jobs.service``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded
from lojal.program.schemas import ProgramConfig
from lojal.tiers import levels, queries
from lojal.tiers import qualification as q
from lojal.tiers.changes import GRACE_STARTED, Decision, lock_members, write
from lojal.tiers.levels import TierState
from lojal.tiers.schemas import TiersConfig


@dataclass(frozen=True, slots=True)
class Reviewed:
    """How many members a step decided on, and the events that recorded."""

    count: int
    caused: Sequence[EventRecorded]


NOTHING = Reviewed(0, ())


def review_due(session: Session, *, now: datetime, limit: int = 2000) -> Reviewed:
    """Review the tiers whose period (or grace period) has ended: keep, start a grace
    period, or fall — never more levels than the policy allows. Returns how many were
    reviewed; run it until that is 0 (a member whose reviews were missed for years is
    reviewed once per period, in order)."""
    found = levels.configured(session)
    if found is None:
        return NOTHING
    config, tiers = found
    member_ids = queries.due_for_review(session, now=now, limit=limit)
    if not member_ids:
        return NOTHING
    lock_members(session, member_ids)
    # Read again under the lock: a purchase or another run may have decided meanwhile.
    before = queries.states(session, member_ids)
    due = [s for s in before.values() if s.review_at is not None and s.review_at <= now]
    windows: dict[int, q.Window] = {}
    for s in due:
        assert s.review_at is not None
        windows[s.member_id] = (
            q.window_until(tiers.period, s.review_at, config.timezone)
            if s.in_grace
            else q.period_window(tiers.period, s.review_at, config.timezone)
        )
    active = {s.member_id: windows[s.member_id] for s in due if s.status == "active"}
    totals = queries.totals(session, tiers.basis, active)
    decisions = [
        _review(config, tiers, s, windows[s.member_id], totals.get(s.member_id, 0)) for s in due
    ]
    return Reviewed(len(due), write(session, tiers, before, decisions, now))


def _review(
    config: ProgramConfig, tiers: TiersConfig, state: TierState, window: q.Window, total: int
) -> Decision:
    at = state.review_at
    assert at is not None
    if state.status != "active":  # closed or merged: nothing more to review
        stopped = replace(state, review_at=None, in_grace=False, grace_to=None)
        return Decision(stopped, "period_end", at)
    detail = {"total": total, **levels.window_detail(window)}
    current = tiers.rank(state.qualified_tier)
    reached = q.qualified_rank(tiers.thresholds, total)
    if reached >= current:
        # Kept (or, if an upgrade was missed, raised): a new tier period from the review.
        rank = reached
        kept = replace(
            state,
            qualified_tier=levels.code(tiers, rank),
            qualified_since=at if rank > current else state.qualified_since,
            review_at=levels.review_after(config, tiers, rank, at),
            in_grace=False,
            grace_to=None,
        )
        return Decision(kept, "qualified", at, detail)
    if state.in_grace:
        # The grace period is over: fall to what the review decided (or what they reach now).
        target = max(tiers.rank(state.grace_to), reached)
        reason = "grace"
    else:
        target = q.downgrade_target(current, reached, tiers.downgrade.max_levels)
        reason = "period_end"
        grace_days = tiers.downgrade.grace_days
        if grace_days:
            until = q.add_days(at, grace_days, config.timezone)
            falls_to = levels.code(tiers, target)
            grace = replace(state, review_at=until, in_grace=True, grace_to=falls_to)
            properties = {
                "tier": state.qualified_tier,
                "falls_to": falls_to,
                "until": until.isoformat(),
                **detail,
            }
            event_id = f"{GRACE_STARTED}:{state.member_id}:{at.isoformat()}"
            return Decision(grace, "period_end", at, detail, (event_id, GRACE_STARTED, properties))
    fallen = replace(
        state,
        qualified_tier=levels.code(tiers, target),
        qualified_since=at,
        review_at=levels.review_after(config, tiers, target, at),
        in_grace=False,
        grace_to=None,
    )
    return Decision(fallen, reason, at, detail)


def assign_entry_tier(session: Session, *, now: datetime, limit: int = 2000) -> Reviewed:
    """Put members who have no tier into the tier everyone has (a lowest tier with threshold
    0) — members who enrolled before the club had tiers. Returns how many."""
    found = levels.configured(session)
    if found is None or found[1].floor < 0:
        return NOTHING
    tiers = found[1]
    member_ids = queries.without_tier(session, limit=limit)
    if not member_ids:
        return NOTHING
    lock_members(session, member_ids)
    before = queries.states(session, member_ids)
    decisions = [
        Decision(
            replace(
                s,
                qualified_tier=s.qualified_tier or tiers.levels[0].code,
                qualified_since=s.qualified_since or now,
            ),
            "joined",
            now,
        )
        for s in before.values()
        if s.tier is None and s.status == "active"
    ]
    return Reviewed(len(decisions), write(session, tiers, before, decisions, now))
