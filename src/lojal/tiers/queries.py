"""Reads for tiers: the members' tier state and qualifying totals, and a member's progress and
history. The two that run for every purchase batch — the members' tier state and their
qualifying totals — are one statement each per chunk of members, on the driver
(``lojal.db.driver``), like the rest of the purchase path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.db.driver import Driver
from lojal.members import service as members
from lojal.tiers import levels
from lojal.tiers import qualification as q
from lojal.tiers.levels import TierState
from lojal.tiers.models import MemberTier, TierChange
from lojal.tiers.qualification import Window
from lojal.tiers.schemas import (
    Basis,
    KeepTier,
    NextTier,
    PaidTier,
    TierProgress,
    TierRead,
    WindowRead,
)

# An open window's end, for SQL that compares with one.
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
CHUNK = 300


def _time(db: Driver, value: object) -> datetime | None:
    return None if value is None else db.read_time(value)


def states(session: Session, member_ids: Sequence[int]) -> dict[int, TierState]:
    """The tier state of each member (members without a ``member_tiers`` row included)."""
    db = Driver.of(session)
    out: dict[int, TierState] = {}
    for row in db.in_chunks(
        "SELECT m.id, m.status, m.tier, t.member_id, t.qualified_tier, t.qualified_since, "
        "t.review_at, t.in_grace, t.grace_to, t.paid_tier, t.paid_until "
        "FROM members m LEFT JOIN member_tiers t ON t.member_id = m.id WHERE m.id IN ({})",
        list(member_ids),
    ):
        out[int(row[0])] = TierState(
            member_id=int(row[0]),
            status=row[1],
            tier=row[2],
            qualified_tier=row[4],
            qualified_since=_time(db, row[5]),
            review_at=_time(db, row[6]),
            in_grace=bool(row[7]),
            grace_to=row[8],
            paid_tier=row[9],
            paid_until=_time(db, row[10]),
            has_row=row[3] is not None,
        )
    return out


# Money spent in a window: the purchases dated in it, less what was returned of them. (A
# merge moves purchases and returns to the member that carries on.)
_SPEND = (
    "SELECT member_id, SUM(amount) FROM ("
    " SELECT w.member_id AS member_id, p.total_minor AS amount FROM w"
    " JOIN purchases p ON p.member_id = w.holder_id"
    " AND p.occurred_at >= w.start_at AND p.occurred_at < w.end_at"
    " UNION ALL"
    " SELECT w.member_id, -r.total_minor FROM w"
    " JOIN returns r ON r.member_id = w.holder_id"
    " JOIN purchases p ON p.id = r.purchase_id"
    " AND p.occurred_at >= w.start_at AND p.occurred_at < w.end_at"
    ") t GROUP BY member_id"
)
# Points earned in a window: the member side of earn entries, less clawbacks (returns), each
# counted at its entry's date. Staff adjustments and merges are not earnings. The journal is
# append-only, so the entries of a member merged into another stay that member's: they count
# for the member it was merged into (``w.holder_id``).
_POINTS = (
    "SELECT w.member_id, SUM(p.amount) FROM w"
    " JOIN journal_entries e ON e.member_id = w.holder_id"
    " AND e.effective_at >= w.start_at AND e.effective_at < w.end_at"
    " AND e.kind IN ('earn', 'clawback')"
    " JOIN postings p ON p.entry_id = e.id AND p.member_id = e.member_id"
    " AND p.account IN ('member_pending', 'member_available')"
    " AND (e.kind = 'clawback' OR p.amount > 0)"
    " GROUP BY w.member_id"
)


def merged_into(session: Session, member_ids: Sequence[int]) -> dict[int, list[int]]:
    """The members merged into each of these (pointers are one hop long: a merge re-points
    the members merged into the one it merges away)."""
    db = Driver.of(session)
    out: dict[int, list[int]] = {}
    for member_id, target_id in db.in_chunks(
        "SELECT id, merged_into_id FROM members WHERE merged_into_id IN ({})", list(member_ids)
    ):
        out.setdefault(int(target_id), []).append(int(member_id))
    return out


def totals(session: Session, basis: Basis, windows: Mapping[int, Window]) -> dict[int, int]:
    """Each member's qualifying total in their own window: net spend (minor units) or points
    earned (their own and those of the members merged into them). One statement per chunk of
    members, whatever the windows."""
    db = Driver.of(session)
    query = _SPEND if basis == "spend" else _POINTS
    rows: list[tuple[int, int, Window]] = [(m, m, w) for m, w in sorted(windows.items())]
    if basis == "points" and rows:
        for target_id, merged in merged_into(session, list(windows)).items():
            rows += [(target_id, member_id, windows[target_id]) for member_id in merged]
    out: dict[int, int] = {}
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i : i + CHUNK]
        params: list[object] = []
        for member_id, holder_id, window in chunk:
            params += [
                member_id,
                holder_id,
                db.time(window.start),
                db.time(window.end or FAR_FUTURE),
            ]
        values = ", ".join(["(?, ?, ?, ?)"] * len(chunk))
        sql = f"WITH w (member_id, holder_id, start_at, end_at) AS (VALUES {values}) {query}"
        for member_id, total in db.all(sql, params):
            out[int(member_id)] = out.get(int(member_id), 0) + int(total or 0)
    return out


def due_for_review(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Members whose tier period (or grace period) has ended, earliest first."""
    return list(
        session.scalars(
            select(MemberTier.member_id)
            .where(MemberTier.review_at <= now)
            .order_by(MemberTier.review_at, MemberTier.member_id)
            .limit(limit)
        )
    )


def without_tier(session: Session, *, limit: int) -> list[int]:
    """Active members with no tier at all (enrolled before the club had tiers)."""
    db = Driver.of(session)
    rows = db.all(
        "SELECT id FROM members WHERE tier IS NULL AND status = 'active' ORDER BY id LIMIT ?",
        (limit,),
    )
    return [int(row[0]) for row in rows]


def progress(session: Session, *, member_id: int, now: datetime) -> TierProgress:
    """Where the member stands: their tier (qualified and paid), the current window's total,
    what the next tier still needs, and what keeps the qualified tier at its next review.
    Raises ``TiersNotConfigured`` when the programme has no tiers."""
    config, tiers = levels.require(session)
    member = members.resolve(session, members.get(session, member_id))
    state = states(session, [member.id])[member.id]
    window = q.current_window(tiers.period, now, config.timezone)
    total = totals(session, tiers.basis, {member.id: window}).get(member.id, 0)

    effective = tiers.rank(levels.effective(tiers, state))
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
        so_far = totals(session, tiers.basis, {member.id: keep_window}).get(member.id, 0)
        keep = KeepTier(
            tier=TierRead.of(qualified),
            review_at=state.review_at,
            window=WindowRead(start=keep_window.start, end=keep_window.end),
            total=so_far,
            remaining=q.remaining(qualified.threshold, so_far),
            in_grace=state.in_grace,
        )

    paid_level = tiers.level(state.paid_tier)
    tier = tiers.level(levels.effective(tiers, state))
    return TierProgress(
        member_id=member.id,
        tier=TierRead.of(tier) if tier else None,
        qualified_tier=TierRead.of(qualified) if qualified else None,
        paid=PaidTier(tier=TierRead.of(paid_level), until=state.paid_until) if paid_level else None,
        basis=tiers.basis,
        unit=levels.unit(config, tiers),
        period=tiers.period,
        window=WindowRead(start=window.start, end=window.end),
        total=total,
        next=next_tier,
        keep=keep,
    )


def history(
    session: Session, *, member_id: int, before: int | None = None, limit: int = 50
) -> list[TierChange]:
    """Every change of the member's tier (the one a merged member carries on as), newest
    first, before the change ``before``."""
    member = members.resolve(session, members.get(session, member_id))
    query = select(TierChange).where(TierChange.member_id == member.id)
    if before is not None:
        query = query.where(TierChange.id < before)
    return list(session.scalars(query.order_by(TierChange.id.desc()).limit(limit)))
