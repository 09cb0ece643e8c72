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
8. the completions' rewards — the points of all of them in one go (``ledger.bulk.earn_many``,
   each keyed ``challenge:<id>:<member>:<attempt>``), then each badge and coupon — and their
   ``challenge_completions`` rows.

Returns (``on_returns``): a returned purchase is **taken out of an unfinished attempt** — the
purchase is counted again as what is left of it (the lines and money not returned), and what
no longer counts is removed: the whole order returned un-counts it, a returned category leaves
a ``distinct`` goal, returned money leaves a ``sum``. A **completed attempt stays completed**
and its reward is not taken back: the challenge rewarded what the member did, and the
purchase's own points are already clawed back by the ledger (a club that fears abuse keeps a
pending period, so that challenge points, like purchase points, are pending until the return
window has passed). A return only ever takes away.

Concurrency: the purchase path has locked the batch's members' balance rows (PostgreSQL) or
holds SQLite's write lock before it gets here; for events and returns this module locks the
members' balance rows itself, in member order, so that two transactions never count into the
same member's progress at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded, LineFacts, PurchaseRecorded, ReturnRecorded
from lojal.badges import queries as badge_queries
from lojal.badges import service as badges
from lojal.badges.models import Badge
from lojal.challenges import engine
from lojal.challenges.engine import Compiled, Counted, Fact, MemberView, Progress, PurchaseScope
from lojal.challenges.models import ChallengeCompletion, ChallengeFact, ChallengeProgress
from lojal.challenges.service import compiled
from lojal.coupons import service as coupons
from lojal.db.driver import Driver
from lojal.ledger.bulk import Grant, earn_many
from lojal.program import service as program_service

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
COMPLETION_COLUMNS = (
    "member_id",
    "challenge_id",
    "attempt",
    "completed_at",
    "window_start",
    "window_end",
    "points",
    "entry_id",
    "badge_id",
    "recorded_at",
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


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def running(session: Session, activity: str) -> list[Compiled]:
    """The active challenges over ``activity``, compiled (cached per revision). One small
    indexed query; nothing else when there are none."""
    db = Driver.of(session)
    rows = db.all(
        "SELECT id, revision, definition, runs_from, runs_until FROM challenges "
        "WHERE status = 'active' AND activity = ? ORDER BY id",
        (activity,),
    )
    if not rows:
        return []
    timezone = program_service.current(session).timezone
    return [
        compiled(
            int(row_id),
            int(revision),
            db.read_json(definition),
            (_time(db, runs_from), _time(db, runs_until)),
            timezone,
        )
        for row_id, revision, definition, runs_from, runs_until in rows
    ]


def _time(db: Driver, value: Any) -> datetime | None:
    return None if value is None else db.read_time(value)


class _Times:
    """Times to and from the database's form, each distinct value converted once per batch
    (a batch's rows share window bounds, and conversions would otherwise be a large part of
    the work)."""

    def __init__(self, db: Driver) -> None:
        self.db = db
        self.stored: dict[datetime, Any] = {}
        self.read: dict[Any, datetime] = {}

    def to_db(self, value: datetime | None) -> Any:
        if value is None:
            return None
        found = self.stored.get(value)
        if found is None:
            found = self.stored[value] = self.db.time(value)
        return found

    def from_db(self, value: Any) -> datetime | None:
        if value is None:
            return None
        found = self.read.get(value)
        if found is None:
            found = self.read[value] = self.db.read_time(value)
        return found


def _members(db: Driver, ids: Iterable[int]) -> dict[int, MemberView]:
    out: dict[int, MemberView] = {}
    for row in db.in_chunks(
        "SELECT id, status, tier, enrolment_channel, attributes FROM members WHERE id IN ({})",
        sorted(set(ids)),
    ):
        attributes = db.read_json(row[4]) if row[4] not in (None, "{}") else {}
        out[int(row[0])] = MemberView(int(row[0]), row[1], row[2], row[3], attributes or {})
    return out


def _lock(db: Driver, member_ids: Sequence[int]) -> None:
    """PostgreSQL: the members' balance rows, in member order (as the purchase path and the
    ledger lock them), for the rest of the transaction. SQLite's write transaction already
    excludes every other writer."""
    if db.sqlite or not member_ids:
        return
    for _ in db.in_chunks(
        "SELECT member_id FROM point_balances WHERE member_id IN ({}) ORDER BY member_id "
        "FOR UPDATE",
        sorted(member_ids),
    ):
        pass


# ---------------------------------------------------------------- activity in


def on_purchases(session: Session, purchases: Sequence[PurchaseRecorded], now: datetime) -> None:
    challenges = running(session, "purchase")
    if not challenges:
        return
    db = Driver.of(session)
    members = _members(db, (p.member_id for p in purchases))
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
    _count(session, db, counted, now, lock=False)


def on_events(session: Session, events: Sequence[EventRecorded], now: datetime) -> None:
    challenges = running(session, "event")
    if not challenges:
        return
    types = {c.definition.event_type for c in challenges}
    relevant = [event for event in events if event.type in types]
    if not relevant:
        return
    db = Driver.of(session)
    members = _members(db, (e.member_id for e in relevant))
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
            context = context or engine.event_context(event, member, zone)
            got = challenge.matcher.event(event, context)
            if got is not None:
                item = Counted("event", event.event_id, member.id, event.occurred_at, *got)
                counted.append((challenge, item))
    _count(session, db, counted, now, lock=True)


def _count(
    session: Session,
    db: Driver,
    counted: list[tuple[Compiled, Counted]],
    now: datetime,
    *,
    lock: bool,
) -> None:
    if not counted:
        return
    member_ids = sorted({item.member_id for _, item in counted})
    by_id = {c.spec.id: c for c, _ in counted}
    challenge_ids = sorted(by_id)
    in_challenges = f"challenge_id IN ({_marks(len(challenge_ids))})"
    if lock:
        _lock(db, member_ids)

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
    times = _Times(db)
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
            f"WHERE p.state = 'active' AND f.challenge_id IN ({_marks(len(remembered))}) "
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
        return

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
    _forget_cached(session)
    if completions:
        _reward(session, completions, now)


def _progress_values(times: _Times, p: Progress, now: datetime) -> tuple[Any, ...]:
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


def _forget_cached(session: Session) -> None:
    """Rows written on the driver: the ORM must not serve copies it read before."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (ChallengeProgress, ChallengeFact, ChallengeCompletion)):
            session.expire(obj)


def _reward(
    session: Session,
    completions: Sequence[tuple[Compiled, int, engine.Completion]],
    now: datetime,
) -> None:
    """Give each completion's reward, once: the completion row is unique per member,
    challenge and attempt, and the points' ledger key is the completion's
    (``challenge:<id>:<member>:<attempt>``). The points of all the batch's completions are
    earned together (``ledger.bulk.earn_many``: an import of history completes challenges by
    the thousand); badges and coupons one by one."""
    config = program_service.current(session)
    grants: list[Grant] = []
    for challenge, member_id, completion in completions:
        definition = challenge.definition
        points = definition.reward.points
        if points is not None:
            spec = challenge.spec
            grants.append(
                Grant(
                    member_id=member_id,
                    points=points,
                    key=_points_key(spec.id, member_id, completion.attempt),
                    earned_at=completion.completed_at,
                    source=f"challenge:{spec.id}",
                    explanation=(
                        f"+{points} {config.point_name}: challenge '{definition.name}' completed"
                    ),
                    detail={"challenge": spec.code, "attempt": completion.attempt},
                )
            )
    entry_ids = earn_many(session, grants, now=now, config=config)
    held_badges: dict[str, Badge | None] = {}
    rows: list[tuple[Any, ...]] = []
    for challenge, member_id, completion in completions:
        reward = challenge.definition.reward
        spec = challenge.spec
        entry_id: int | None = None
        points = 0
        if reward.points is not None:
            entry_id = entry_ids[_points_key(spec.id, member_id, completion.attempt)]
            points = reward.points
        badge_id: int | None = None
        if reward.badge is not None:
            if reward.badge not in held_badges:
                held_badges[reward.badge] = badge_queries.by_code(session, reward.badge)
            badge = held_badges[reward.badge]
            if badge is not None:  # badges are never deleted; checked when the challenge was saved
                badges.award(
                    session,
                    member_id=member_id,
                    badge=badge,
                    source=f"challenge:{spec.code}",
                    at=completion.completed_at,
                )
                badge_id = badge.id
        if reward.coupon is not None:
            # keyed on the completion like the points: issuing again gives the same code
            coupons.issue_code(
                session,
                campaign_id=reward.coupon,
                reference=f"challenge:{spec.id}:{member_id}:{completion.attempt}",
                member_id=member_id,
                now=now,
            )
        rows.append(
            (
                member_id,
                spec.id,
                completion.attempt,
                completion.completed_at,
                completion.window_start,
                completion.window_end,
                points,
                entry_id,
                badge_id,
                now,
            )
        )
    db = Driver.of(session)
    times = _Times(db)
    db.insert(
        "challenge_completions",
        COMPLETION_COLUMNS,
        [tuple(times.to_db(v) if isinstance(v, datetime) else v for v in row) for row in rows],
    )


def _points_key(challenge_id: int, member_id: int, attempt: int) -> str:
    return f"challenge:{challenge_id}:{member_id}:{attempt}"


# ---------------------------------------------------------------- returns


def on_returns(session: Session, returns: Sequence[ReturnRecorded], now: datetime) -> None:
    challenges = running(session, "purchase")
    if not challenges or not returns:
        return
    by_id = {c.spec.id: c for c in challenges}
    db = Driver.of(session)
    member_ids = sorted({r.member_id for r in returns})
    purchase_ids = sorted({r.purchase_id for r in returns})
    ids = sorted(by_id)
    _lock(db, member_ids)
    # What these purchases counted in attempts still under way.
    counted: dict[tuple[int, int, int], list[tuple[int, str, int]]] = {}
    for fact_id, challenge_id, member_id, source_id, value, amount in db.in_chunks(
        "SELECT f.id, f.challenge_id, f.member_id, f.source_id, f.value, f.amount "
        "FROM challenge_facts f JOIN challenge_progress p ON p.member_id = f.member_id "
        "AND p.challenge_id = f.challenge_id AND p.attempt = f.attempt "
        f"WHERE p.state = 'active' AND f.source = 'purchase' "
        f"AND f.challenge_id IN ({_marks(len(ids))}) "
        f"AND f.member_id IN ({_marks(len(member_ids))}) AND f.source_id IN ({{}})",
        purchase_ids,
        [*ids, *member_ids],
    ):
        key = (int(challenge_id), int(member_id), int(source_id))
        counted.setdefault(key, []).append((int(fact_id), value, int(amount)))
    if not counted:
        return
    left = _what_is_left(db, sorted({key[2] for key in counted}))
    members = _members(db, member_ids)
    zone = challenges[0].spec.zone
    removed: list[int] = []
    reduced: list[tuple[int, int]] = []
    for (challenge_id, member_id, purchase_id), facts in counted.items():
        purchase = left.get(purchase_id)
        member = members.get(member_id)
        got = None
        if purchase is not None and member is not None:
            got = by_id[challenge_id].matcher.purchase(PurchaseScope(purchase, member, zone))
        if got is None:
            removed.extend(fact_id for fact_id, _, _ in facts)
            continue
        values, amount = got
        for fact_id, value, old in facts:
            if value not in values:
                removed.append(fact_id)
            elif old > amount:
                reduced.append((amount, fact_id))
    if not removed and not reduced:
        return
    for start in range(0, len(removed), 500):
        chunk = removed[start : start + 500]
        db.execute(f"DELETE FROM challenge_facts WHERE id IN ({_marks(len(chunk))})", chunk).close()
    db.many("UPDATE challenge_facts SET amount = ? WHERE id = ?", reduced)
    # The attempts' progress, recomputed from what they still count.
    pairs = sorted({(key[0], key[1]) for key in counted})
    kept: dict[tuple[int, int], list[Fact]] = {pair: [] for pair in pairs}
    for challenge_id, member_id, attempt, value, amount, period in db.in_chunks(
        "SELECT f.challenge_id, f.member_id, f.attempt, f.value, f.amount, f.period "
        "FROM challenge_facts f JOIN challenge_progress p ON p.member_id = f.member_id "
        "AND p.challenge_id = f.challenge_id AND p.attempt = f.attempt "
        f"WHERE p.state = 'active' AND f.challenge_id IN ({_marks(len(ids))}) "
        "AND f.member_id IN ({})",
        member_ids,
        ids,
    ):
        pair = (int(challenge_id), int(member_id))
        if pair in kept:
            kept[pair].append(Fact(int(attempt), value, int(amount), period))
    db.many(
        "UPDATE challenge_progress SET progress = ?, updated_at = ? "
        "WHERE challenge_id = ? AND member_id = ?",
        [
            (engine.measure(by_id[pair[0]].spec.goal, kept[pair]), db.time(now), *pair)
            for pair in pairs
        ],
    )
    _forget_cached(session)


def _what_is_left(db: Driver, purchase_ids: Sequence[int]) -> dict[int, PurchaseRecorded]:
    """The purchases as they stand after their returns: the units and money not returned."""
    marks = _marks(len(purchase_ids))
    returned: dict[int, tuple[int, int]] = {
        int(line_id): (int(quantity), int(amount))
        for line_id, quantity, amount in db.all(
            "SELECT rl.purchase_line_id, SUM(rl.quantity), SUM(rl.amount_minor) "
            "FROM return_lines rl JOIN returns r ON r.id = rl.return_id "
            f"WHERE r.purchase_id IN ({marks}) GROUP BY rl.purchase_line_id",
            purchase_ids,
        )
    }
    lines: dict[int, list[LineFacts]] = {}
    for line_id, purchase_id, sku, name, category, quantity, price, total in db.all(
        "SELECT id, purchase_id, sku, name, category, quantity, unit_price_minor, total_minor "
        f"FROM purchase_lines WHERE purchase_id IN ({marks}) ORDER BY purchase_id, line_no",
        purchase_ids,
    ):
        gone, money = returned.get(int(line_id), (0, 0))
        if quantity - gone > 0:
            lines.setdefault(int(purchase_id), []).append(
                LineFacts(sku, quantity - gone, price, max(0, total - money), name, category)
            )
    out: dict[int, PurchaseRecorded] = {}
    rows = db.all(
        "SELECT id, order_id, member_id, occurred_at, channel, store_id FROM purchases "
        f"WHERE id IN ({marks})",
        purchase_ids,
    )
    owners = sorted({int(row[2]) for row in rows if row[2] is not None})
    first = {
        int(member_id): int(first_id)
        for member_id, first_id in db.in_chunks(
            "SELECT member_id, MIN(id) FROM purchases WHERE member_id IN ({}) GROUP BY member_id",
            owners,
        )
    }
    for purchase_id, order_id, member_id, occurred_at, channel, store_id in rows:
        if member_id is None:
            continue
        kept = lines.get(int(purchase_id), [])
        out[int(purchase_id)] = PurchaseRecorded(
            purchase_id=int(purchase_id),
            order_id=order_id,
            member_id=int(member_id),
            occurred_at=db.read_time(occurred_at),
            channel=channel,
            store_id=store_id,
            total_minor=sum(line.total_minor for line in kept),
            points=0,
            lines=kept,
            first_purchase=first.get(int(member_id)) == int(purchase_id),
        )
    return out
