"""Tier use cases: upgrade at once after purchases, review at the period end (``lojal jobs
run``), staff decisions, paid tiers, and a member's progress.

Every change of a member's tier goes through ``_write``: it stores the new state in
``member_tiers``, sets ``members.tier`` to the higher of the qualified and the paid tier, and —
when that changes — appends a ``tier_changes`` row and a ``tier_changed`` event (event id
``tier_changed:<change id>``) in the same transaction, then hands the events to
``lojal.reactions.after_events`` so that other features (challenges, automations) can react.

Nothing here runs twice for the same fact: an upgrade happens when the stored tier is below
what the member qualifies for, and a review moves ``review_at`` forward, so a replayed batch
or a second run of the job finds nothing to do.

Locks: on PostgreSQL every writer of a member's tier first holds the member's balance row
(``point_balances``, ``FOR UPDATE``, in member order) — the lock the purchase path already
takes — so that a purchase, an event, a payment and the job never decide on the same member
at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from lojal.activities.models import Event
from lojal.db.driver import Driver
from lojal.errors import Invalid, ProgramNotConfigured
from lojal.ledger import service as ledger
from lojal.members import service as members
from lojal.members.models import Member
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.reactions import EventRecorded, PurchaseRecorded
from lojal.tiers import qualification as q
from lojal.tiers import queries
from lojal.tiers.errors import TiersNotConfigured, UnknownTier
from lojal.tiers.models import TierChange
from lojal.tiers.queries import TierState
from lojal.tiers.schemas import (
    KeepTier,
    ManualTierChange,
    NextTier,
    PaidTier,
    TierProgress,
    TierRead,
    TiersConfig,
    TiersRead,
    WindowRead,
)

TIER_CHANGED = "tier_changed"
GRACE_STARTED = "tier_grace_started"
# Events lojal records itself: they earn nothing and do not make a member qualify.
SYSTEM_EVENT_PREFIXES = ("tier_", "membership_", "member_merged")


@dataclass(frozen=True, slots=True)
class _Decision:
    """A member's tier state after a decision, why, and when it took effect."""

    state: TierState
    reason: str
    effective_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)
    # An event that is not a tier change (grace started): (event id, type, properties).
    notice: tuple[str, str, dict[str, Any]] | None = None


# ------------------------------------------------------------------ configuration


def configured(session: Session) -> tuple[ProgramConfig, TiersConfig] | None:
    """The programme and its tiers; None when the club has no tiers (or no programme yet)."""
    try:
        config = program_service.current(session)
    except ProgramNotConfigured:
        return None
    return None if config.tiers is None else (config, config.tiers)


def _require(session: Session) -> tuple[ProgramConfig, TiersConfig]:
    found = configured(session)
    if found is None:
        raise TiersNotConfigured("the programme has no tiers: add a 'tiers' section to it")
    return found


def _unit(config: ProgramConfig, tiers: TiersConfig) -> str:
    return config.currency if tiers.basis == "spend" else config.point_name


def definitions(session: Session) -> TiersRead:
    config, tiers = _require(session)
    return TiersRead(
        basis=tiers.basis,
        unit=_unit(config, tiers),
        period=tiers.period,
        max_levels_down=tiers.downgrade.max_levels,
        grace_days=tiers.downgrade.grace_days,
        levels=[TierRead.of(level) for level in tiers.levels],
    )


def _code(tiers: TiersConfig, rank: int) -> str | None:
    return None if rank < 0 else tiers.levels[rank].code


def _effective(tiers: TiersConfig, state: TierState) -> str | None:
    """The tier a member has: the higher of qualified and paid, and at least the tier every
    member has (a lowest tier with threshold 0)."""
    rank = max(tiers.rank(state.qualified_tier), tiers.rank(state.paid_tier), tiers.floor)
    return _code(tiers, rank)


def _review_after(
    config: ProgramConfig, tiers: TiersConfig, rank: int, start: datetime
) -> datetime | None:
    """When a qualified tier that starts a period at ``start`` is reviewed (None: never, for
    no tier or the tier every member has)."""
    if rank <= tiers.floor:
        return None
    return q.period_end(tiers.period, start, config.timezone)


def lock_members(session: Session, member_ids: Sequence[int]) -> None:
    """Hold the members' balance rows (PostgreSQL), in member order; see the module doc."""
    db = Driver.of(session)
    if db.sqlite or not member_ids:
        return
    for _ in db.in_chunks(
        "SELECT member_id FROM point_balances WHERE member_id IN ({}) "
        "ORDER BY member_id FOR UPDATE",
        sorted(member_ids),
    ):
        pass


def _window_detail(window: q.Window) -> dict[str, Any]:
    return {
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat() if window.end else None,
    }


# ------------------------------------------------------------------ reactions: upgrade at once


def on_purchases(session: Session, purchases: Sequence[PurchaseRecorded], now: datetime) -> None:
    """Upgrade, in the purchases' transaction, every member of the batch whose total in the
    current window now reaches a higher tier. The purchase path already holds the members'
    balance rows. Returns do not downgrade at once: the review at the period end does."""
    found = configured(session)
    if found is None or not purchases:
        return
    config, tiers = found
    _requalify(session, config, tiers, sorted({p.member_id for p in purchases}), now)


def on_events(session: Session, events: Sequence[EventRecorded], now: datetime) -> None:
    """On the points basis, points from events (a review, a survey) count too."""
    member_ids = sorted(
        {e.member_id for e in events if not e.type.startswith(SYSTEM_EVENT_PREFIXES)}
    )
    if not member_ids:
        return
    found = configured(session)
    if found is None or found[1].basis != "points":
        return
    lock_members(session, member_ids)
    _requalify(session, found[0], found[1], member_ids, now)


def requalify(session: Session, *, member_ids: Sequence[int], now: datetime) -> None:
    """Upgrade these members if they now qualify for a higher tier: for features that award
    points outside purchases and events (on the points basis, a referral or challenge reward
    can lift a member)."""
    found = configured(session)
    if found is None or not member_ids:
        return
    lock_members(session, member_ids)
    _requalify(session, found[0], found[1], sorted(set(member_ids)), now)


def _requalify(
    session: Session,
    config: ProgramConfig,
    tiers: TiersConfig,
    member_ids: Sequence[int],
    now: datetime,
) -> None:
    top = len(tiers.levels) - 1
    before = queries.states(session, member_ids)
    # Only members who could move up: below the top, or in grace (requalifying keeps the tier).
    candidates = [
        s
        for s in before.values()
        if s.status == "active" and (tiers.rank(s.qualified_tier) < top or s.in_grace)
    ]
    if not candidates:
        return
    window = q.current_window(tiers.period, now, config.timezone)
    totals = queries.totals(session, tiers.basis, {s.member_id: window for s in candidates})
    decisions: list[_Decision] = []
    for state in candidates:
        total = totals.get(state.member_id, 0)
        reached = q.qualified_rank(tiers.thresholds, total)
        current = tiers.rank(state.qualified_tier)
        if reached < current or (reached == current and not state.in_grace):
            continue
        # A higher tier, or the tier in grace reached again: a new tier period from now.
        rank = max(reached, current)
        decisions.append(
            _Decision(
                replace(
                    state,
                    qualified_tier=_code(tiers, rank),
                    qualified_since=now if reached > current else state.qualified_since,
                    review_at=_review_after(config, tiers, rank, now),
                    in_grace=False,
                    grace_to=None,
                ),
                "qualified",
                now,
                {"total": total, **_window_detail(window)},
            )
        )
    _write(session, tiers, before, decisions, now)


def on_enrolment(session: Session, member: Member, now: datetime) -> None:
    """A new member starts in the lowest tier when everyone has it (threshold 0)."""
    found = configured(session)
    if found is None or found[1].floor < 0:
        return
    tiers = found[1]
    state = TierState(member_id=member.id, status=member.status, tier=member.tier)
    joined = replace(state, qualified_tier=tiers.levels[0].code, qualified_since=now)
    _write(session, tiers, {member.id: state}, [_Decision(joined, "joined", now)], now)


# ------------------------------------------------------------------ the job: reviews


def review_due(session: Session, *, now: datetime, limit: int = 2000) -> int:
    """Review the tiers whose period (or grace period) has ended: keep, start a grace
    period, or fall — never more levels than the policy allows. Returns how many were
    reviewed; run it until it returns 0 (a member whose reviews were missed for years is
    reviewed once per period, in order)."""
    found = configured(session)
    if found is None:
        return 0
    config, tiers = found
    member_ids = queries.due_for_review(session, now=now, limit=limit)
    if not member_ids:
        return 0
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
    _write(session, tiers, before, decisions, now)
    return len(due)


def _review(
    config: ProgramConfig, tiers: TiersConfig, state: TierState, window: q.Window, total: int
) -> _Decision:
    at = state.review_at
    assert at is not None
    if state.status != "active":  # closed or merged: nothing more to review
        stopped = replace(state, review_at=None, in_grace=False, grace_to=None)
        return _Decision(stopped, "period_end", at)
    detail = {"total": total, **_window_detail(window)}
    current = tiers.rank(state.qualified_tier)
    reached = q.qualified_rank(tiers.thresholds, total)
    if reached >= current:
        # Kept (or, if an upgrade was missed, raised): a new tier period from the review.
        rank = reached
        kept = replace(
            state,
            qualified_tier=_code(tiers, rank),
            qualified_since=at if rank > current else state.qualified_since,
            review_at=_review_after(config, tiers, rank, at),
            in_grace=False,
            grace_to=None,
        )
        return _Decision(kept, "qualified", at, detail)
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
            grace = replace(state, review_at=until, in_grace=True, grace_to=_code(tiers, target))
            properties = {
                "tier": state.qualified_tier,
                "falls_to": _code(tiers, target),
                "until": until.isoformat(),
                **detail,
            }
            event_id = f"{GRACE_STARTED}:{state.member_id}:{at.isoformat()}"
            return _Decision(grace, "period_end", at, detail, (event_id, GRACE_STARTED, properties))
    fallen = replace(
        state,
        qualified_tier=_code(tiers, target),
        qualified_since=at,
        review_at=_review_after(config, tiers, target, at),
        in_grace=False,
        grace_to=None,
    )
    return _Decision(fallen, reason, at, detail)


def assign_entry_tier(session: Session, *, now: datetime, limit: int = 2000) -> int:
    """Put members who have no tier into the tier everyone has (a lowest tier with threshold
    0) — members who enrolled before the club had tiers. Returns how many."""
    found = configured(session)
    if found is None or found[1].floor < 0:
        return 0
    tiers = found[1]
    member_ids = queries.without_tier(session, limit=limit)
    if not member_ids:
        return 0
    lock_members(session, member_ids)
    before = queries.states(session, member_ids)
    decisions = [
        _Decision(
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
    _write(session, tiers, before, decisions, now)
    return len(decisions)


# ------------------------------------------------------------------ staff and paid tiers


def set_tier(
    session: Session,
    *,
    member_id: int,
    change: ManualTierChange,
    now: datetime,
    actor: str | None = None,
) -> TierProgress:
    """A staff decision: the member's qualified tier becomes ``change.tier`` from now, for a
    new tier period (or until ``change.until``), and is reviewed as usual after that."""
    config, tiers = _require(session)
    member = members.get_active(session, member_id)
    rank = tiers.rank(change.tier)
    if change.tier is not None and rank < 0:
        raise UnknownTier(
            f"the programme has no tier {change.tier!r} (tiers: {', '.join(tiers.codes)})",
            field="tier",
        )
    if change.until is not None and change.until <= now:
        raise Invalid("until must be in the future", field="until")
    ledger.lock_balance(session, member.id)
    before = queries.states(session, [member.id])
    state = before[member.id]
    decided = replace(
        state,
        qualified_tier=change.tier,
        qualified_since=now,
        review_at=change.until or _review_after(config, tiers, rank, now),
        in_grace=False,
        grace_to=None,
    )
    detail = {"note": change.reason, "actor": actor}
    _write(session, tiers, before, [_Decision(decided, "manual", now, detail)], now)
    return progress(session, member_id=member.id, now=now)


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


def set_paid_tiers(session: Session, changes: Sequence[PaidTierChange], *, now: datetime) -> None:
    """Give or take away the tiers paid memberships grant; each member's tier becomes the
    higher of it and their qualified tier. The caller holds the members' balance rows
    (``lock_members``). Without tiers in the programme, nothing happens."""
    found = configured(session)
    if found is None or not changes:
        return
    before = queries.states(session, [c.member_id for c in changes])
    decisions = [
        _Decision(
            replace(before[c.member_id], paid_tier=c.tier, paid_until=c.until),
            c.reason,
            c.effective_at,
            c.detail,
        )
        for c in changes
    ]
    _write(session, found[1], before, decisions, now)


# ------------------------------------------------------------------ writing decisions


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


@dataclass(frozen=True, slots=True)
class SystemEvent:
    """An event lojal records itself (``tier_changed``, ``membership_started``, ...)."""

    event_id: str  # natural: re-recording the same fact is refused by the unique event id
    member_id: int
    type: str
    occurred_at: datetime
    properties: dict[str, Any]


def _write(
    session: Session,
    tiers: TiersConfig,
    before: dict[int, TierState],
    decisions: Sequence[_Decision],
    now: datetime,
) -> None:
    """Store decisions set-based — a first import may give thousands of members their tier
    in one batch: the ``member_tiers`` rows, ``members.tier``, one history row and one event
    per change — then let other features react to the events."""
    if not decisions:
        return
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
        new = _effective(tiers, state)
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
        return
    db.many(
        "UPDATE members SET tier = ?, updated_at = ? WHERE id = ?",
        [(c["to_tier"], time(now), c["member_id"]) for c in changes],
    )
    # Members the session holds must not show the tier they had.
    for change in changes:
        loaded = session.identity_map.get(identity_key(Member, change["member_id"]))
        if loaded is not None:
            session.expire(loaded, ["tier", "updated_at"])
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
    record_events(session, [*events, *notices], now)


def record_events(session: Session, events: Sequence[SystemEvent], now: datetime) -> None:
    """Store events lojal records itself (tier changes, membership changes), in one statement,
    and let the other features react to them like to any recorded event."""
    if not events:
        return
    from lojal import reactions

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
    reactions.after_events(
        session,
        [
            EventRecorded(
                event_id=row_id,
                member_id=event.member_id,
                type=event.type,
                occurred_at=event.occurred_at,
                properties=dict(event.properties),
            )
            for row_id, event in zip(ids, events, strict=True)
        ],
        now,
    )


# ------------------------------------------------------------------ reads


def progress(session: Session, *, member_id: int, now: datetime) -> TierProgress:
    """Where the member stands: their tier (qualified and paid), the current window's total,
    what the next tier still needs, and what keeps the qualified tier at its next review.
    Raises ``TiersNotConfigured`` when the programme has no tiers."""
    config, tiers = _require(session)
    member = members.resolve(session, members.get(session, member_id))
    state = queries.states(session, [member.id])[member.id]
    window = q.current_window(tiers.period, now, config.timezone)
    total = queries.totals(session, tiers.basis, {member.id: window}).get(member.id, 0)

    effective = tiers.rank(_effective(tiers, state))
    next_tier = None
    if effective + 1 < len(tiers.levels):
        level = tiers.levels[effective + 1]
        next_tier = NextTier(tier=TierRead.of(level), remaining=q.remaining(level.threshold, total))

    keep = None
    qualified = tiers.level(state.qualified_tier)
    if qualified is not None and state.review_at is not None:
        keep_window = (
            q.window_until(tiers.period, state.review_at, config.timezone)
            if state.in_grace
            else q.period_window(tiers.period, state.review_at, config.timezone)
        )
        so_far = queries.totals(session, tiers.basis, {member.id: keep_window}).get(member.id, 0)
        keep = KeepTier(
            tier=TierRead.of(qualified),
            review_at=state.review_at,
            window=WindowRead(start=keep_window.start, end=keep_window.end),
            total=so_far,
            remaining=q.remaining(qualified.threshold, so_far),
            in_grace=state.in_grace,
        )

    paid_level = tiers.level(state.paid_tier)
    tier = tiers.level(_effective(tiers, state))
    return TierProgress(
        member_id=member.id,
        tier=TierRead.of(tier) if tier else None,
        qualified_tier=TierRead.of(qualified) if qualified else None,
        paid=PaidTier(tier=TierRead.of(paid_level), until=state.paid_until) if paid_level else None,
        basis=tiers.basis,
        unit=_unit(config, tiers),
        period=tiers.period,
        window=WindowRead(start=window.start, end=window.end),
        total=total,
        next=next_tier,
        keep=keep,
    )


def history(
    session: Session, *, member_id: int, before: int | None = None, limit: int = 50
) -> list[TierChange]:
    member = members.resolve(session, members.get(session, member_id))
    return queries.history(session, member.id, before=before, limit=limit)
