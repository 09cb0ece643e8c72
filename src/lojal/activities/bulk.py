"""Recording purchases in batches: the path every purchase takes — an API request (a batch of
one, or the requests the writer groups into one transaction), an import, the demo.

For a batch it writes, in the caller's transaction, the purchases and their lines and, for
members, what the rules award: a journal entry ``purchase:<purchase id>`` per purchase, its
point lot (``purchase:<order id>``, available after the pending period, expiring by the
programme's policy), the two postings (``member_pending``/``member_available`` and
``program_issued``), the capped rules' usage and the members' balances. It reads what the
rules need once per batch — the order ids already recorded, the members behind the
identities, who has bought before, what the capped rules have already given — and writes one
multi-row insert per table (``executemany`` on SQLite, ``COPY`` on PostgreSQL), on the
driver's cursor (``lojal.db.driver``).

How to call it::

    with transaction(factory) as session:          # one transaction per batch
        result = import_purchases(session, [
            BulkPurchase(order_id="A-1", email="anna@example.se",
                         occurred_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
                         lines=(LineFacts.of("K-1", 4500, 2),)),
        ], now=datetime.now(UTC))
        result.written, result.skipped, result.rejected

Identity values must already be normalised (``lojal.members.identities.normalise``). A purchase
whose order id is already recorded (or repeated in the batch) is skipped; one that names an
unknown ``member_id`` or another currency is rejected (``BatchResult.rejected``) and the rest
are written. A purchase for an identity that is not a member yet is kept without points and
credited when they enrol. Keep batches to some thousands of purchases.

On PostgreSQL the batch first locks its members' balance rows (in member order), so that
what it reads — first purchase, caps — cannot change under it; SQLite's ``BEGIN IMMEDIATE``
already gives the batch the whole database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.activities.events import LineFacts, PurchaseRecorded
from lojal.conditions.model import AllOf, AnyOf, Compare, Not
from lojal.db.driver import Driver
from lojal.ledger import entries
from lojal.ledger.bulk import ENTRY_COLUMNS, LOT_COLUMNS, POSTING_COLUMNS, new_ids
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.rules.engine import (
    WEEKDAYS,
    Award,
    MemberFacts,
    PurchaseFacts,
    RuleSet,
    award_purchase,
    cap_window,
)

IDENTITY_FIELDS = (
    ("email", "email"),
    ("phone", "phone"),
    ("card", "card_number"),
    ("external_id", "external_id"),
)
PURCHASE_COLUMNS = (
    "id",
    "order_id",
    "member_id",
    "identity_kind",
    "identity_value",
    "channel",
    "store_id",
    "occurred_at",
    "currency",
    "total_minor",
    "points",
    "order_points",
    "attributes",
    "recorded_at",
)
LINE_COLUMNS = (
    "id",
    "purchase_id",
    "member_id",
    "line_no",
    "sku",
    "name",
    "category",
    "quantity",
    "unit_price_minor",
    "total_minor",
    "points",
)
USAGE_COLUMNS = ("member_id", "rule_id", "entry_id", "points", "awarded_at")


@dataclass(frozen=True, slots=True)
class BulkPurchase:
    order_id: str
    occurred_at: datetime  # timezone-aware
    lines: Sequence[LineFacts]
    member_id: int | None = None
    email: str | None = None
    phone: str | None = None
    card_number: str | None = None
    external_id: str | None = None
    channel: str = "store"
    store_id: str | None = None
    currency: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # when the points' pending period starts (default: occurred_at); a channel's late
    # purchase waits from when lojal learned of it (lojal.activities.dating)
    pending_from: datetime | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    index: int  # position in the batch
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class Written:
    """What was written for one purchase of the batch (``details=True``)."""

    purchase_id: int
    member_id: int | None
    occurred_at: datetime
    total_minor: int
    points: int
    line_points: tuple[int, ...]
    explanation: str


@dataclass
class BatchResult:
    read: int = 0
    written: int = 0
    skipped: int = 0
    unmatched: int = 0
    points: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    skipped_indices: list[int] = field(default_factory=list)
    # index in the batch -> what was written (only with details=True)
    details: dict[int, Written] = field(default_factory=dict)


@dataclass(slots=True)
class _Member:
    id: int
    status: str
    merged_into_id: int | None
    enrolment_channel: str
    attributes: dict[str, Any]
    tier: str | None = None


class ImportState:
    """What a run of batches learns and keeps between them: the member behind each identity
    already seen, and the members known to have bought (a fact that never becomes false)."""

    def __init__(self) -> None:
        self.identities: dict[tuple[str, str], int] = {}
        self.has_purchase: set[int] = set()

    def trim(self, limit: int = 2_000_000) -> None:
        if len(self.identities) > limit:
            self.identities.clear()
        if len(self.has_purchase) > limit:
            self.has_purchase.clear()


def import_purchases(
    session: Session,
    purchases: Sequence[BulkPurchase],
    now: datetime,
    *,
    config: ProgramConfig | None = None,
    state: ImportState | None = None,
    details: bool = False,
) -> BatchResult:
    """Record ``purchases`` (in order) with their points; see the module docstring."""
    prepared = prepare(session, purchases, now, config=config, state=state, details=details)
    written = apply(session, prepared)
    assert written is not None  # nothing to verify: read and written in one transaction
    return written


@dataclass
class Prepared:
    """A batch computed from what the database said when it was read: its rows with ids
    relative to the batch (the real ids are taken when it is written), and the facts it read,
    so that ``apply(..., verify=True)`` can tell whether they still hold."""

    now: datetime
    result: BatchResult
    state: ImportState
    purchases: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    lots: list[tuple[Any, ...]] = field(default_factory=list)
    postings: list[tuple[Any, ...]] = field(default_factory=list)
    usage: list[tuple[Any, ...]] = field(default_factory=list)
    balance: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    recorded: list[PurchaseRecorded] = field(default_factory=list)
    bought: set[int] = field(default_factory=set)
    # what was read, for verify=True
    member_rows: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    first_buyers: list[int] = field(default_factory=list)
    cap_reads: dict[tuple[int, str, datetime | None], int] = field(default_factory=dict)
    cap_query: tuple[list[int], list[datetime]] = field(default_factory=lambda: ([], []))
    ruleset: RuleSet | None = None
    zone: ZoneInfo | None = None


def prepare(
    session: Session,
    purchases: Sequence[BulkPurchase],
    now: datetime,
    *,
    config: ProgramConfig | None = None,
    state: ImportState | None = None,
    details: bool = False,
) -> Prepared:
    """Read what the rules need and compute the batch's rows (nothing is written)."""
    config = config or program_service.current(session)
    ruleset = config.ruleset()
    state = state or ImportState()
    state.trim()
    result = BatchResult(read=len(purchases))
    out = Prepared(now=now, result=result, state=state, ruleset=ruleset)
    db = Driver.of(session)

    # 1. Order ids already recorded (repeats within the batch are found in step 2).
    recorded: set[str] = {
        row[0]
        for row in db.in_chunks(
            "SELECT order_id FROM purchases WHERE order_id IN ({})",
            list({p.order_id for p in purchases}),
        )
    }
    todo: list[tuple[int, BulkPurchase]] = []
    for i, p in enumerate(purchases):
        if p.order_id in recorded:
            result.skipped += 1
            result.skipped_indices.append(i)
            continue
        if p.currency is not None and p.currency != config.currency:
            reason = f"the club's currency is {config.currency}, not {p.currency}"
            result.rejected.append(Rejected(i, "currency", reason))
            continue
        todo.append((i, p))

    # 2. Members: by id, then by each identity kind, following merges.
    known = state.identities
    for kind, attr in IDENTITY_FIELDS:
        values = list(
            {v for _, p in todo if (v := getattr(p, attr)) is not None and (kind, v) not in known}
        )
        for value, member_id in db.in_chunks(
            "SELECT value, member_id FROM member_identities WHERE kind = ? AND value IN ({})",
            values,
            (kind,),
        ):
            known[(kind, value)] = member_id
    wanted: set[int] = set()
    for _, p in todo:
        if p.member_id is not None:
            wanted.add(p.member_id)
        else:
            for kind, attr in IDENTITY_FIELDS:
                value = getattr(p, attr)
                if value is not None and (kind, value) in known:
                    wanted.add(known[(kind, value)])
    members = _load_members(db, wanted, out.member_rows)

    def resolve(member_id: int) -> _Member:
        member = members[member_id]
        hops = 0
        while member.status == "merged" and member.merged_into_id is not None and hops < 100:
            member = members[member.merged_into_id]
            hops += 1
        return member

    plan: list[tuple[int, BulkPurchase, _Member | None, tuple[str, str] | None]] = []
    for i, p in todo:
        member: _Member | None = None
        identity: tuple[str, str] | None = None
        if p.member_id is not None:
            if p.member_id not in members:
                result.rejected.append(
                    Rejected(i, "member_id", f"member {p.member_id} does not exist")
                )
                continue
            member = resolve(p.member_id)
        else:
            for kind, attr in IDENTITY_FIELDS:
                value = getattr(p, attr)
                if not value:
                    continue
                found = known.get((kind, value))
                if found is not None and found in members:
                    member = resolve(found)
                    break
                identity = identity or (kind, value)
            if member is None and identity is None:
                result.rejected.append(
                    Rejected(
                        i,
                        "member_id",
                        "give member_id or one of email, phone, card_number, external_id",
                    )
                )
                continue
        if p.order_id in recorded:  # an earlier purchase of this batch has this order id
            result.skipped += 1
            result.skipped_indices.append(i)
            continue
        recorded.add(p.order_id)
        plan.append((i, p, member, identity if member is None else None))

    # 3. What the rules read from the database: earlier purchases, the caps' usage so far.
    member_ids = sorted({m.id for _, _, m, _ in plan if m is not None})
    if not db.sqlite and member_ids:
        for _ in db.in_chunks(
            "SELECT member_id FROM point_balances WHERE member_id IN ({}) "
            "ORDER BY member_id FOR UPDATE",
            member_ids,
        ):
            pass
        # The members' tiers (read in step 2) may have changed while this batch waited for the
        # lock: a concurrent purchase that upgraded a member. Read them again under the lock.
        for member_id, tier in db.in_chunks(
            "SELECT id, tier FROM members WHERE id IN ({})", member_ids
        ):
            members[member_id].tier = tier
    has_purchase = set(state.has_purchase)
    unknown = [m for m in member_ids if m not in has_purchase]
    bought_before = {
        row[0]
        for row in db.in_chunks(
            "SELECT DISTINCT member_id FROM purchases WHERE member_id IN ({})", unknown
        )
    }
    has_purchase.update(bought_before)
    out.first_buyers = [m for m in unknown if m not in bought_before]
    zone = ZoneInfo(config.timezone)
    out.zone = zone
    times = [p.occurred_at for _, p, m, _ in plan if m is not None]
    used = _CapUsage(db, ruleset, zone, member_ids, times)
    out.cap_reads = dict(used.used)
    out.cap_query = (member_ids, times)

    # 4. Awards and rows, with ids relative to the batch (purchase k, line l, entry e; the
    # lot of entry e is lot e).
    awards = _awards_for(ruleset)
    pending_days = timedelta(days=config.pending_days)
    expiry = _Expiry(config, zone)
    time = db.time
    now_db = time(now)
    currency = config.currency
    purchase_rows, line_rows = out.purchases, out.lines
    entry_rows, lot_rows = out.entries, out.lots
    posting_rows, usage_rows = out.postings, out.usage
    balance = out.balance
    members_purchases = out.recorded
    capped = {rule.id for rule in ruleset.capped}
    pending_account, available_account = entries.MEMBER_PENDING, entries.MEMBER_AVAILABLE
    issued = entries.PROGRAM_ISSUED
    next_line = next_entry = 0
    for purchase_id, (index, p, member, identity) in enumerate(plan):
        occurred_at = p.occurred_at
        if occurred_at.tzinfo is not UTC:
            occurred_at = occurred_at.astimezone(UTC)
        occurred_db = time(occurred_at)
        lines = p.lines
        total = sum(line.total_minor for line in lines)
        line_points: Sequence[int] = (0,) * len(lines)
        points = order_points = 0
        explanation = ""
        owner: int | None = None
        first = False
        if member is not None:
            owner = member.id
            first = owner not in has_purchase
            has_purchase.add(owner)
            out.bought.add(owner)
            if member.status == "active":
                facts = PurchaseFacts(
                    occurred_at, p.channel, total, lines, p.store_id, p.attributes
                )
                member_facts = MemberFacts(
                    first, member.enrolment_channel, member.attributes, member.tier
                )
                usage = used.for_purchase(owner, occurred_at) if capped else None
                key = awards.key(facts, member_facts, usage)
                award = awards.get(key)
                if award is None:
                    award = award_purchase(ruleset, facts, member_facts, usage)
                    if key is not None:
                        awards.put(key, award)
                explanation = award.explanation
                if award.points > 0:
                    entry_id = next_entry
                    next_entry += 1
                    points, order_points = award.points, award.order_points
                    line_points = award.line_points
                    available_at = (p.pending_from or occurred_at) + pending_days
                    is_pending = available_at > now
                    expires_at = expiry.of(occurred_at)
                    # the key slot holds the purchase's relative id until apply()
                    entry_rows.append(
                        (
                            entry_id,
                            owner,
                            "earn",
                            purchase_id,
                            occurred_db,
                            now_db,
                            points,
                            explanation[:1000],
                            _detail(award),
                        )
                    )
                    lot_rows.append(
                        (
                            entry_id,
                            owner,
                            entry_id,
                            points,
                            points,
                            "pending" if is_pending else "available",
                            occurred_db,
                            time(available_at),
                            time(expires_at) if expires_at is not None else None,
                            f"purchase:{p.order_id}"[:200],
                        )
                    )
                    account = pending_account if is_pending else available_account
                    posting_rows.append((entry_id, owner, account, points, entry_id))
                    posting_rows.append((entry_id, owner, issued, -points, None))
                    balance[owner][0 if is_pending else 1] += points
                    if capped:
                        for part in award.parts:
                            if part.rule_id in capped:
                                usage_rows.append(
                                    (owner, part.rule_id, entry_id, part.points, occurred_db)
                                )
                                used.add(owner, part.rule_id, occurred_at, part.points)
                    result.points += points
        else:
            result.unmatched += 1
        purchase_rows.append(
            (
                purchase_id,
                p.order_id,
                owner,
                identity[0] if identity else None,
                identity[1] if identity else None,
                p.channel,
                p.store_id,
                occurred_db,
                currency,
                total,
                points,
                order_points,
                db.json(dict(p.attributes)) if p.attributes else "{}",
                now_db,
            )
        )
        for line_no, (line, lp) in enumerate(zip(lines, line_points, strict=True), start=1):
            line_rows.append(
                (
                    next_line,
                    purchase_id,
                    owner,
                    line_no,
                    line.sku,
                    line.name,
                    line.category,
                    line.quantity,
                    line.unit_price_minor,
                    line.total_minor,
                    lp,
                )
            )
            next_line += 1
        if owner is not None:
            members_purchases.append(
                PurchaseRecorded(
                    purchase_id,
                    p.order_id,
                    owner,
                    occurred_at,
                    p.channel,
                    p.store_id,
                    total,
                    points,
                    lines,
                    first,
                )
            )
        if details:
            result.details[index] = Written(
                purchase_id,
                owner,
                occurred_at,
                total,
                points,
                tuple(line_points),
                explanation,
            )
    result.written = len(purchase_rows)
    result.skipped_indices.sort()
    return out


def apply(session: Session, prepared: Prepared, *, verify: bool = False) -> BatchResult | None:
    """Write a prepared batch in the session's transaction. With ``verify`` (the batch was
    prepared in an earlier transaction), first check that what it read still holds — the
    members, who has bought before, what the capped rules have given — and write nothing,
    returning None, if not: the caller prepares it again. (A purchase recorded meanwhile
    under one of the batch's order ids makes the insert fail on the unique order id.)"""
    db = Driver.of(session)
    if verify and not _still_holds(db, prepared):
        return None
    ids = new_ids(
        db,
        {
            "purchases": len(prepared.purchases),
            "purchase_lines": len(prepared.lines),
            "journal_entries": len(prepared.entries),
            "point_lots": len(prepared.lots),
        },
    )
    pid, lid = ids["purchases"], ids["purchase_lines"]
    eid, tid = ids["journal_entries"], ids["point_lots"]
    db.insert("purchases", PURCHASE_COLUMNS, [(pid[r[0]], *r[1:]) for r in prepared.purchases])
    db.insert(
        "purchase_lines", LINE_COLUMNS, [(lid[r[0]], pid[r[1]], *r[2:]) for r in prepared.lines]
    )
    db.insert(
        "journal_entries",
        ENTRY_COLUMNS,
        [(eid[r[0]], r[1], r[2], f"purchase:{pid[r[3]]}", *r[4:]) for r in prepared.entries],
    )
    db.insert(
        "point_lots", LOT_COLUMNS, [(tid[r[0]], r[1], eid[r[2]], *r[3:]) for r in prepared.lots]
    )
    db.insert(
        "postings",
        POSTING_COLUMNS,
        [
            (eid[r[0]], r[1], r[2], r[3], None if r[4] is None else tid[r[4]])
            for r in prepared.postings
        ],
    )
    db.insert(
        "rule_awards", USAGE_COLUMNS, [(r[0], r[1], eid[r[2]], *r[3:]) for r in prepared.usage]
    )
    if prepared.balance:
        now_db = db.time(prepared.now)
        db.many(
            "UPDATE point_balances SET pending = pending + ?, available = available + ?, "
            "lifetime_earned = lifetime_earned + ?, updated_at = ? WHERE member_id = ?",
            [
                (pend, avail, pend + avail, now_db, member_id)
                for member_id, (pend, avail) in sorted(prepared.balance.items())
            ],
        )
    result = prepared.result
    result.details = {
        i: replace(written, purchase_id=pid[written.purchase_id])
        for i, written in result.details.items()
    }
    prepared.state.has_purchase.update(prepared.bought)
    # The ORM must not serve rows cached before these writes.
    session.expire_all()
    reactions.after_purchases(
        session,
        [replace(r, purchase_id=pid[r.purchase_id]) for r in prepared.recorded],
        prepared.now,
    )
    return result


def _still_holds(db: Driver, prepared: Prepared) -> bool:
    check: dict[int, tuple[Any, ...]] = {}
    _load_members(db, set(prepared.member_rows), check)
    if check != prepared.member_rows:
        return False
    if any(
        True
        for _ in db.in_chunks(
            "SELECT DISTINCT member_id FROM purchases WHERE member_id IN ({})",
            prepared.first_buyers,
        )
    ):
        return False
    if prepared.cap_reads or prepared.cap_query[0]:
        assert prepared.ruleset is not None
        assert prepared.zone is not None
        again = _CapUsage(db, prepared.ruleset, prepared.zone, *prepared.cap_query)
        if dict(again.used) != prepared.cap_reads:
            return False
    return True


def _detail(award: Award) -> str:
    return orjson.dumps(
        {"parts": [{"rule": p.rule_id, "points": p.points, "text": p.text} for p in award.parts]}
    ).decode()


class _Expiry:
    """Expiry times, cached per local month when the policy rounds to the month's end."""

    def __init__(self, config: ProgramConfig, zone: ZoneInfo) -> None:
        self.months = config.expiry.months
        self.round = config.expiry.round_to_month_end
        self.timezone = config.timezone
        self.zone = zone
        self.by_month: dict[tuple[int, int], datetime] = {}

    def of(self, earned_at: datetime) -> datetime | None:
        if self.months is None:
            return None
        if not self.round:
            return entries.expiry_for(
                earned_at, months=self.months, round_to_month_end=False, timezone=self.timezone
            )
        local = earned_at.astimezone(self.zone)
        key = (local.year, local.month)
        found = self.by_month.get(key)
        if found is None:
            found = entries.expiry_for(
                earned_at, months=self.months, round_to_month_end=True, timezone=self.timezone
            )
            assert found is not None
            self.by_month[key] = found
        return found


class _AwardCache:
    """Awards already computed for the same inputs. The engine is pure, so an award depends
    only on what it reads: the key holds every input in full except the purchase time, which
    is reduced to what the rules can see of it (weekday, hour, local date) — or kept whole when
    a rule reads ``purchase.occurred_at`` or has a campaign window."""

    LIMIT = 200_000

    def __init__(self, ruleset: RuleSet) -> None:
        fields: set[str] = set()
        windows = False
        for rule in ruleset.rules:
            windows = windows or rule.valid_from is not None or rule.valid_until is not None
            if rule.when is not None:
                _condition_fields(rule.when, fields)

        def reads(name: str) -> bool:
            return any(f in ("purchase", name) or f.startswith(name + ".") for f in fields)

        self.exact_time = windows or reads("purchase.occurred_at")
        self.parts = tuple(
            part for part in ("weekday", "hour", "local_date") if reads(f"purchase.{part}")
        )
        self.zone = ZoneInfo(ruleset.timezone)
        self.cache: dict[tuple[Any, ...], Award] = {}
        self.lookups = self.hits = 0
        self.enabled = True

    def get(self, key: tuple[Any, ...] | None) -> Award | None:
        if key is None:
            return None
        self.lookups += 1
        award = self.cache.get(key)
        if award is not None:
            self.hits += 1
        elif self.lookups == 5000 and self.hits < 500:
            # Baskets rarely repeat here: stop paying for the keys.
            self.enabled = False
            self.cache.clear()
        return award

    def key(
        self, facts: PurchaseFacts, member: MemberFacts, used: Mapping[str, int] | None
    ) -> tuple[Any, ...] | None:
        if not self.enabled:
            return None
        try:
            time_key: Any = None
            if self.exact_time:
                time_key = facts.occurred_at
            elif self.parts:
                local = facts.occurred_at.astimezone(self.zone)
                time_key = tuple(
                    WEEKDAYS[local.weekday()]
                    if part == "weekday"
                    else local.hour
                    if part == "hour"
                    else local.date()
                    for part in self.parts
                )
            return (
                time_key,
                facts.channel,
                facts.store_id,
                facts.total_minor,
                orjson.dumps(facts.attributes, option=orjson.OPT_SORT_KEYS)
                if facts.attributes
                else b"",
                tuple(facts.lines),
                member.first_purchase,
                member.enrolment_channel,
                member.tier,
                orjson.dumps(member.attributes, option=orjson.OPT_SORT_KEYS)
                if member.attributes
                else b"",
                tuple(sorted(used.items())) if used else (),
            )
        except (TypeError, ValueError):  # attributes that do not serialise: no caching
            return None

    def put(self, key: tuple[Any, ...], award: Award) -> None:
        if not self.enabled:
            return
        if len(self.cache) >= self.LIMIT:
            self.cache.clear()
        self.cache[key] = award


_award_caches: dict[int, tuple[RuleSet, _AwardCache]] = {}


def _awards_for(ruleset: RuleSet) -> _AwardCache:
    """One cache per programme version (the ruleset object), reused across batches."""
    held = _award_caches.get(id(ruleset))
    if held is None or held[0] is not ruleset:
        _award_caches.clear()
        held = (ruleset, _AwardCache(ruleset))
        _award_caches[id(ruleset)] = held
    return held[1]


def _condition_fields(condition: Any, out: set[str]) -> None:
    if isinstance(condition, Compare):
        out.add(condition.field)
    elif isinstance(condition, AllOf):
        for child in condition.all:
            _condition_fields(child, out)
    elif isinstance(condition, AnyOf):
        for child in condition.any:
            _condition_fields(child, out)
    elif isinstance(condition, Not):
        _condition_fields(condition.not_, out)


def _load_members(
    db: Driver, wanted: set[int], rows: dict[int, tuple[Any, ...]] | None = None
) -> dict[int, _Member]:
    """The members with these ids and the members they were merged into; ``rows`` receives
    each member's row as read (to check later that it has not changed)."""
    members: dict[int, _Member] = {}
    todo = set(wanted)
    while todo:
        ids = sorted(todo)
        todo = set()
        for row in db.in_chunks(
            "SELECT id, status, merged_into_id, enrolment_channel, attributes, tier FROM members "
            "WHERE id IN ({})",
            ids,
        ):
            if rows is not None:
                rows[int(row[0])] = tuple(row)
            attributes = db.read_json(row[4]) if row[4] not in (None, "{}") else {}
            member = _Member(int(row[0]), row[1], row[2], row[3], attributes or {}, row[5])
            members[member.id] = member
            merged_into = member.merged_into_id
            if merged_into is not None and merged_into not in members:
                todo.add(merged_into)
    return members


class _CapUsage:
    """Points each capped rule has given each member, per cap window (windows start at local
    midnights, so they are found by the local date)."""

    def __init__(
        self,
        db: Driver,
        ruleset: RuleSet,
        zone: ZoneInfo,
        member_ids: Sequence[int],
        times: Sequence[datetime],
    ) -> None:
        self.timezone = ruleset.timezone
        self.zone = zone
        self.rules = [(rule.id, rule.cap.period) for rule in ruleset.capped if rule.cap]
        self.period = dict(self.rules)
        self.windows: dict[tuple[str, date], datetime | None] = {}
        self.used: dict[tuple[int, str, datetime | None], int] = defaultdict(int)
        if not self.rules or not member_ids or not times:
            return
        starts = [self._start(period, min(times)) for _, period in self.rules]
        earliest = None if any(s is None for s in starts) else min(s for s in starts if s)
        query = (
            "SELECT member_id, rule_id, awarded_at, points FROM rule_awards "
            f"WHERE rule_id IN ({', '.join('?' * len(self.period))})"
        )
        params: list[Any] = list(self.period)
        if earliest is not None:
            query += " AND awarded_at >= ?"
            params.append(db.time(earliest))
        for member_id, rule_id, at, points in db.in_chunks(
            query + " AND member_id IN ({})", list(member_ids), params
        ):
            self.add(member_id, rule_id, db.read_time(at), int(points))

    def _start(self, period: str, at: datetime) -> datetime | None:
        day = at.astimezone(self.zone).date()
        key = (period, day)
        if key not in self.windows:
            window = cap_window(period, at, self.timezone)
            self.windows[key] = window[0] if window else None
        return self.windows[key]

    def add(self, member_id: int, rule_id: str, at: datetime, points: int) -> None:
        self.used[(member_id, rule_id, self._start(self.period[rule_id], at))] += points

    def for_purchase(self, member_id: int, at: datetime) -> dict[str, int]:
        return {
            rule_id: self.used.get((member_id, rule_id, self._start(period, at)), 0)
            for rule_id, period in self.rules
        }
