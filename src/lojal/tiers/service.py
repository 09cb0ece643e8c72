"""Tier use cases outside the reactions: the club's tier definitions, staff decisions and the
tiers paid memberships give. Upgrades at once are ``lojal.tiers.upgrades`` (a reaction),
reviews at the period end ``lojal.tiers.reviews`` (the job), and every write of a decision
``lojal.tiers.changes``; a member's progress and history are reads (``lojal.tiers.queries``).

A decision here records ``tier_changed`` events and returns them: the caller (the staff
decision's entry points, the membership use cases) dispatches them to ``lojal.reactions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded
from lojal.errors import Invalid
from lojal.ledger import posting as ledger_posting
from lojal.members import service as members
from lojal.tiers import levels, queries
from lojal.tiers.changes import Decision, write
from lojal.tiers.errors import UnknownTier
from lojal.tiers.schemas import ManualTierChange, TierRead, TiersRead


def definitions(session: Session) -> TiersRead:
    config, tiers = levels.require(session)
    return TiersRead(
        basis=tiers.basis,
        unit=levels.unit(config, tiers),
        period=tiers.period,
        max_levels_down=tiers.downgrade.max_levels,
        grace_days=tiers.downgrade.grace_days,
        levels=[TierRead.of(level) for level in tiers.levels],
    )


def set_tier(
    session: Session,
    *,
    member_id: int,
    change: ManualTierChange,
    now: datetime,
    actor: str | None = None,
) -> list[EventRecorded]:
    """A staff decision: the member's qualified tier becomes ``change.tier`` from now, for a
    new tier period (or until ``change.until``), and is reviewed as usual after that. Returns
    the events it recorded, for the entry point to dispatch before it reads the progress."""
    config, tiers = levels.require(session)
    member = members.get_active(session, member_id)
    rank = tiers.rank(change.tier)
    if change.tier is not None and rank < 0:
        raise UnknownTier(
            f"the programme has no tier {change.tier!r} (tiers: {', '.join(tiers.codes)})",
            field="tier",
        )
    if change.until is not None and change.until <= now:
        raise Invalid("until must be in the future", field="until")
    ledger_posting.lock_balance(session, member.id)
    before = queries.states(session, [member.id])
    state = before[member.id]
    decided = replace(
        state,
        qualified_tier=change.tier,
        qualified_since=now,
        review_at=change.until or levels.review_after(config, tiers, rank, now),
        in_grace=False,
        grace_to=None,
    )
    detail = {"note": change.reason, "actor": actor}
    return write(session, tiers, before, [Decision(decided, "manual", now, detail)], now)


@dataclass(frozen=True, slots=True)
class PaidTierChange:
    """A paid membership gives ``tier`` until ``until`` (or, with ``tier`` None, no longer
    gives a tier), from ``effective_at``."""

    member_id: int
    tier: str | None
    until: datetime | None
    effective_at: datetime
    reason: str  # paid_membership or lapse
    detail: dict[str, Any] = field(default_factory=dict)


def set_paid_tiers(
    session: Session, changes: Sequence[PaidTierChange], *, now: datetime
) -> list[EventRecorded]:
    """Give or take away the tiers paid memberships grant; each member's tier becomes the
    higher of it and their qualified tier. The caller holds the members' balance rows
    (``changes.lock_members``) and dispatches the events returned. Without tiers in the
    programme, nothing happens."""
    found = levels.configured(session)
    if found is None or not changes:
        return []
    before = queries.states(session, [c.member_id for c in changes])
    decisions = [
        Decision(
            replace(before[c.member_id], paid_tier=c.tier, paid_until=c.until),
            c.reason,
            c.effective_at,
            c.detail,
        )
        for c in changes
    ]
    return write(session, found[1], before, decisions, now)
