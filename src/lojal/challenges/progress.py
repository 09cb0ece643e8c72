"""Counting activity into challenge progress, in the transaction that records the activity
(called from ``lojal.reactions``), and rewarding completions in that same transaction.

Per batch of purchases (an API group or an import batch of thousands) or events it is a few
set-based statements, on the driver's cursor (``lojal.db.driver``) like the purchase path:

1. the active challenges (one indexed query; when the club runs none, that is all);
2. the members of the batch (status, tier, attributes);
3. in memory: each activity against each running challenge's compiled condition;
4. the natural keys already counted (the same purchase or event is never counted twice);
5. the progress rows of the members concerned, and for distinct and streak goals the values
   and periods their current attempts counted;
6. in memory, in time order: the engine (``challenges.engine.advance``);
7. one multi-row insert of facts, one of new progress rows, one update of changed ones;
8. the completions' rewards (``lojal.challenges.completions``).

Returns take counted purchases out of unfinished attempts: ``lojal.challenges.returns``.

Concurrency: the purchase path has locked the batch's members' balance rows (PostgreSQL) or
holds SQLite's write lock before it gets here; for events this module (and for returns
``lojal.challenges.returns``) locks the members' balance rows itself, in member order, so
that two transactions never count into the same member's progress at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded, PurchaseRecorded
from lojal.challenges import engine, matching
from lojal.challenges.completions import reward
from lojal.challenges.engine import Counted, Progress
from lojal.challenges.matching import Compiled, PurchaseScope
from lojal.challenges.models import ChallengeCompletion, ChallengeFact, ChallengeProgress
from lojal.challenges.queries import Times, lock_members, marks, member_views, running
from lojal.db.driver import Driver

FACT_COLUMNS = (
    "challenge_id",
    "member_id",
    "attempt",
    "source",
    "source_id",
    "value",
    "amount",
    "period",
    "occurred_at",
)
PROGRESS_COLUMNS = (
    "attempt",
    "state",
    "window_start",
    "window_end",
    "progress",
    "started_at",
    "last_activity_at",
    "completions",
    "last_completed_at",
    "last_window_end",
    "updated_at",
)


def on_purchases(
    session: Session, purchases: Sequence[PurchaseRecorded], now: datetime
) -> list[EventRecorded]:
    """Count the purchases in the challenges they match; the ``challenge_completed`` events
    of the completions they made (for the dispatcher)."""
    challenges = running(session, "purchase")
    if not challenges:
        return []
    db = Driver.of(session)
    members = member_views(db, (p.member_id for p in purchases))
    zone = challenges[0].spec.zone
    counted: list[tuple[Compiled, Counted]] = []
    for purchase in purchases:
        member = members.get(purchase.member_id)
        if member is None or member.status != "active":
            continue
        scope: PurchaseScope | None = None
        for challenge in challenges:
            spec = challenge.spec
            if not spec.running_at(purchase.occurred_at) or not spec.eligible(member.tier):
                continue
            scope = scope or PurchaseScope(purchase, member, zone)
            got = challenge.matcher.purchase(scope)
            if got is not None:
                item = Counted(
                    "purchase", purchase.purchase_id, member.id, purchase.occurred_at, *got
                )
                counted.append((challenge, item))
    # The purchase path already holds the members' locks (see the module docstring).
    return _count(session, db, counted, now, lock=False)


def on_events(
    session: Session, events: Sequence[EventRecorded], now: datetime
) -> list[EventRecorded]:
    challenges = running(session, "event")
    if not challenges:
        return []
    types = {c.definition.event_type for c in challenges}
    relevant = [event for event in events if event.type in types]
    if not relevant:
        return []
    db = Driver.of(session)
    members = member_views(db, (e.member_id for e in relevant))
    zone = challenges[0].spec.zone
    counted: list[tuple[Compiled, Counted]] = []
    for event in relevant:
        member = members.get(event.member_id)
        if member is None or member.status != "active":
            continue
        context: dict[str, Any] | None = None
        for challenge in challenges:
            spec = challenge.spec
            if challenge.definition.event_type != event.type:
                continue
            if not spec.running_at(event.occurred_at) or not spec.eligible(member.tier):
                continue
            context = context or matching.event_context(event, member, zone)
            got = challenge.matcher.event(event, context)
            if got is not None:
                item = Counted("event", event.event_id, member.id, event.occurred_at, *got)
                counted.append((challenge, item))
    return _count(session, db, counted, now, lock=True)


def _count(
    session: Session,
    db: Driver,
    counted: list[tuple[Compiled, Counted]],
    now: datetime,
    *,
    lock: bool,
) -> list[EventRecorded]:
    if not counted:
        return []
    member_ids = sorted({item.member_id for _, item in counted})
    by_id = {c.spec.id: c for c, _ in counted}
    challenge_ids = sorted(by_id)
    in_challenges = f"challenge_id IN ({marks(len(challenge_ids))})"
    if lock:
        lock_members(db, member_ids)

    # What these activities already counted (the natural keys): never twice.
    seen: set[tuple[int, int, str, int]] = set()
    for source in sorted({item.source for _, item in counted}):
        ids = [item.source_id for _, item in counted if item.source == source]
        for challenge_id, member_id, source_id in db.in_chunks(
            "SELECT challenge_id, member_id, source_id FROM challenge_facts "
            f"WHERE {in_challenges} AND source = ? AND source_id BETWEEN ? AND ? "
            "AND member_id IN ({})",
            member_ids,
            [*challenge_ids, source, min(ids), max(ids)],
        ):
            seen.add((int(challenge_id), int(member_id), source, int(source_id)))

    # Where the members stand.
    times = Times(db)
    read = times.from_db
    states: dict[tuple[int, int], Progress] = {}
    row_ids: dict[tuple[int, int], int] = {}
    for row in db.in_chunks(
        "SELECT id, challenge_id, member_id, attempt, state, window_start, window_end, "
        "progress, started_at, last_activity_at, completions, last_completed_at, "
        f"last_window_end FROM challenge_progress WHERE {in_challenges} AND member_id IN ({{}})",
        member_ids,
        challenge_ids,
    ):
        pair = (int(row[1]), int(row[2]))
        row_ids[pair] = int(row[0])
        states[pair] = Progress(
            attempt=int(row[3]),
            state=row[4],
            window_start=read(row[5]),
            window_end=read(row[6]),
            progress=int(row[7]),
            started_at=read(row[8]),
            last_activity_at=read(row[9]),
            completions=int(row[10]),
            last_completed_at=read(row[11]),
            last_window_end=read(row[12]),
        )
    remembered = [cid for cid in challenge_ids if by_id[cid].spec.goal in ("distinct", "streak")]
    if remembered and any(
        p.state == "active" for (cid, _), p in states.items() if cid in remembered
    ):
        for challenge_id, member_id, value, period in db.in_chunks(
            "SELECT f.challenge_id, f.member_id, f.value, f.period FROM challenge_facts f "
            "JOIN challenge_progress p ON p.member_id = f.member_id "
            "AND p.challenge_id = f.challenge_id AND p.attempt = f.attempt "
            f"WHERE p.state = 'active' AND f.challenge_id IN ({marks(len(remembered))}) "
            "AND f.member_id IN ({})",
            member_ids,
            remembered,
        ):
            standing = states[(int(challenge_id), int(member_id))]
            standing.values.add(value)
            if period is not None:
                standing.periods.add(int(period))

    # In time order, so that a batch counts what one activity at a time would count.
    counted.sort(key=lambda pair: (pair[1].occurred_at, pair[1].source_id, pair[0].spec.id))
    fact_rows: list[tuple[Any, ...]] = []
    completions: list[tuple[Compiled, int, engine.Completion]] = []
    touched: set[tuple[int, int]] = set()
    for challenge, item in counted:
        key = (challenge.spec.id, item.member_id, item.source, item.source_id)
        if key in seen:
            continue
        seen.add(key)
        pair = (challenge.spec.id, item.member_id)
        progress = states.get(pair)
        if progress is None:
            progress = states[pair] = Progress()
        facts, completion = engine.advance(challenge.spec, progress, item)
        if not facts:
            continue
        touched.add(pair)
        at = times.to_db(item.occurred_at)
        fact_rows.extend(
            (
                pair[0],
                pair[1],
                fact.attempt,
                item.source,
                item.source_id,
                fact.value,
                fact.amount,
                fact.period,
                at,
            )
            for fact in facts
        )
        if completion is not None:
            completions.append((challenge, item.member_id, completion))
    if not touched:
        return []

    db.insert("challenge_facts", FACT_COLUMNS, fact_rows)
    new_rows: list[tuple[Any, ...]] = []
    changed: list[tuple[Any, ...]] = []
    for pair in sorted(touched):
        values = _progress_values(times, states[pair], now)
        if pair in row_ids:
            changed.append((*values, row_ids[pair]))
        else:
            new_rows.append((pair[1], pair[0], *values))
    db.insert("challenge_progress", ("member_id", "challenge_id", *PROGRESS_COLUMNS), new_rows)
    db.many(
        "UPDATE challenge_progress SET "
        + ", ".join(f"{column} = ?" for column in PROGRESS_COLUMNS)
        + " WHERE id = ?",
        changed,
    )
    forget_cached(session)
    if completions:
        return reward(session, completions, now)
    return []


def _progress_values(times: Times, p: Progress, now: datetime) -> tuple[Any, ...]:
    t = times.to_db
    return (
        p.attempt,
        p.state,
        t(p.window_start),
        t(p.window_end),
        p.progress,
        t(p.started_at),
        t(p.last_activity_at),
        p.completions,
        t(p.last_completed_at),
        t(p.last_window_end),
        t(now),
    )


def forget_cached(session: Session) -> None:
    """Rows written on the driver: the ORM must not serve copies it read before."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (ChallengeProgress, ChallengeFact, ChallengeCompletion)):
            session.expire(obj)
