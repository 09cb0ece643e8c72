"""Purchases in bulk: the set-based path of ``record_purchase`` for imports and the demo.

It writes what ``lojal.activities.service.record_purchase`` and ``lojal.ledger.service.earn``
would write for the same purchases in the same order — the same rule engine, the same keys
(entry ``purchase:<purchase id>``, lot source ``purchase:<order id>``), lot dates, postings,
cap usage and balances — but per batch instead of per purchase: one query per identity kind to
find members, one query for the order ids already recorded, one for the members' earlier
purchases, one per capped rule family for the caps' usage, then one multi-row insert per table
and one ``executemany`` for the balances.

How to call it::

    from lojal.activities.bulk import BulkLine, BulkPurchase, import_purchases

    with transaction(factory) as session:          # one transaction per batch
        result = import_purchases(session, [
            BulkPurchase(order_id="A-1", email="anna@example.se",
                         occurred_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
                         lines=(BulkLine(sku="K-1", unit_price_minor=4500, quantity=2),)),
        ], now=datetime.now(UTC))
        result.written, result.skipped, result.rejected

Identity values must already be normalised (``lojal.members.identities.normalise``). A purchase
whose order id is already recorded (or repeated in the batch) is skipped; one that names an
unknown ``member_id`` or another currency is rejected (``BatchResult.rejected``) and the rest
are written. Keep batches to some thousands of purchases: the batch is held in memory.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from lojal.activities.models import Purchase
from lojal.conditions.model import AllOf, AnyOf, Compare, Not
from lojal.db.types import sqlite_datetime
from lojal.ledger import entries
from lojal.members.models import Member, MemberIdentity
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.rules.engine import (
    WEEKDAYS,
    Award,
    LineFacts,
    MemberFacts,
    PurchaseFacts,
    RuleSet,
    award_purchase,
    cap_window,
)
from lojal.rules.models import RuleAward

CHUNK = 900  # bound parameters per IN (...) list
IDENTITY_FIELDS = (
    ("email", "email"),
    ("phone", "phone"),
    ("card", "card_number"),
    ("external_id", "external_id"),
)


@dataclass(frozen=True, slots=True)
class BulkLine:
    sku: str
    unit_price_minor: int
    quantity: int = 1
    name: str | None = None
    category: str | None = None
    # Defaults to quantity × unit price (give it for a discounted line).
    total_minor: int | None = None

    @property
    def amount(self) -> int:
        return (
            self.total_minor
            if self.total_minor is not None
            else (self.quantity * self.unit_price_minor)
        )


@dataclass(frozen=True, slots=True)
class BulkPurchase:
    order_id: str
    occurred_at: datetime
    lines: Sequence[BulkLine]
    member_id: int | None = None
    email: str | None = None
    phone: str | None = None
    card_number: str | None = None
    external_id: str | None = None
    channel: str = "store"
    store_id: str | None = None
    currency: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rejected:
    index: int  # position in the batch
    field: str
    reason: str


@dataclass
class BatchResult:
    read: int = 0
    written: int = 0
    skipped: int = 0
    unmatched: int = 0
    points: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    skipped_indices: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _MemberInfo:
    id: int
    status: str
    merged_into_id: int | None
    enrolment_channel: str
    attributes: dict[str, Any]


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def import_purchases(
    session: Session,
    purchases: Sequence[BulkPurchase],
    now: datetime,
    *,
    config: ProgramConfig | None = None,
) -> BatchResult:
    """Record ``purchases`` (in order) with their points; see the module docstring."""
    session.flush()
    config = config or program_service.current(session)
    ruleset = config.ruleset()
    result = BatchResult(read=len(purchases))
    conn = session.connection()

    # 1. Order ids already recorded, or repeated within the batch.
    order_ids = list({p.order_id for p in purchases})
    seen: set[str] = set()
    for chunk in _chunks(order_ids):
        seen.update(session.scalars(select(Purchase.order_id).where(Purchase.order_id.in_(chunk))))
    todo: list[tuple[int, BulkPurchase]] = []
    for i, p in enumerate(purchases):
        if p.order_id in seen:
            result.skipped += 1
            result.skipped_indices.append(i)
            continue
        seen.add(p.order_id)
        if p.currency is not None and p.currency != config.currency:
            result.rejected.append(
                Rejected(
                    i, "currency", f"the club's currency is {config.currency}, not {p.currency}"
                )
            )
            continue
        todo.append((i, p))

    # 2. Members: by id, then by each identity kind, following merges.
    by_identity: dict[tuple[str, str], int] = {}
    for kind, attr in IDENTITY_FIELDS:
        values = list({v for _, p in todo if (v := getattr(p, attr))})
        for chunk in _chunks(values):
            for value, member_id in session.execute(
                select(MemberIdentity.value, MemberIdentity.member_id).where(
                    MemberIdentity.kind == kind, MemberIdentity.value.in_(chunk)
                )
            ):
                by_identity[(kind, value)] = member_id
    wanted = {p.member_id for _, p in todo if p.member_id is not None} | set(by_identity.values())
    members = _load_members(session, wanted)

    def resolve(member_id: int) -> _MemberInfo:
        member = members[member_id]
        hops = 0
        while member.status == "merged" and member.merged_into_id is not None and hops < 100:
            member = members[member.merged_into_id]
            hops += 1
        return member

    plan: list[tuple[BulkPurchase, _MemberInfo | None, tuple[str, str] | None]] = []
    for i, p in todo:
        member: _MemberInfo | None = None
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
                found = by_identity.get((kind, value))
                if found is not None:
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
        plan.append((p, member, identity if member is None else None))

    # 3. Facts that need the database: earlier purchases and the caps' usage so far.
    member_ids = list({m.id for _, m, _ in plan if m is not None})
    has_purchase: set[int] = set()
    for chunk in _chunks(member_ids):
        has_purchase.update(
            session.scalars(
                select(Purchase.member_id).where(Purchase.member_id.in_(chunk)).distinct()
            )
        )
    used = _CapUsage(
        session, ruleset, member_ids, [utc(p.occurred_at) for p, m, _ in plan if m is not None]
    )

    # 4. Awards, ids and rows.
    awards = _awards_for(ruleset)
    ids = _IdAllocator(conn)
    pending_days = timedelta(days=config.pending_days)
    sqlite = conn.dialect.name == "sqlite"
    dt = sqlite_datetime if sqlite else _same
    now_db = dt(now)
    purchase_ids = ids.take("purchases", len(plan))
    line_ids = ids.take("purchase_lines", sum(len(p.lines) for p, _, _ in plan))
    awarded = sum(1 for _, m, _ in plan if m is not None and m.status == "active")
    entry_ids = ids.take("journal_entries", awarded)
    lot_ids = ids.take("point_lots", awarded)
    purchase_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    entry_rows: list[tuple[Any, ...]] = []
    lot_rows: list[tuple[Any, ...]] = []
    posting_rows: list[tuple[Any, ...]] = []
    usage_rows: list[tuple[Any, ...]] = []
    balance: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    capped = {rule.id for rule in ruleset.capped}
    next_line = iter(line_ids)
    next_entry = iter(entry_ids)
    next_lot = iter(lot_ids)
    for purchase_id, (p, member, identity) in zip(purchase_ids, plan, strict=True):
        occurred_at = utc(p.occurred_at)
        amounts = [line.amount for line in p.lines]
        total = sum(amounts)
        line_points: Sequence[int] = [0] * len(p.lines)
        points = order_points = 0
        if member is not None:
            first = member.id not in has_purchase
            has_purchase.add(member.id)
            if member.status == "active":
                facts = PurchaseFacts(
                    occurred_at=occurred_at,
                    channel=p.channel,
                    total_minor=total,
                    store_id=p.store_id,
                    attributes=p.attributes,
                    lines=[
                        LineFacts(
                            sku=line.sku,
                            quantity=line.quantity,
                            unit_price_minor=line.unit_price_minor,
                            total_minor=amount,
                            name=line.name,
                            category=line.category,
                        )
                        for line, amount in zip(p.lines, amounts, strict=True)
                    ],
                )
                member_facts = MemberFacts(
                    first_purchase=first,
                    enrolment_channel=member.enrolment_channel,
                    attributes=member.attributes,
                )
                usage = used.for_purchase(member.id, occurred_at) if capped else None
                key = awards.key(facts, member_facts, usage)
                award = awards.get(key)
                if award is None:
                    award = award_purchase(ruleset, facts, member_facts, usage)
                    if key is not None:
                        awards.put(key, award)
                entry_id = next(next_entry)
                lot_id = next(next_lot)
                if award.points > 0:
                    points, order_points = award.points, award.order_points
                    line_points = award.line_points
                    available_at = occurred_at + pending_days
                    is_pending = available_at > now
                    expires_at = _expiry(
                        occurred_at,
                        config.expiry.months,
                        config.expiry.round_to_month_end,
                        config.timezone,
                    )
                    detail = {
                        "parts": [
                            {"rule": part.rule_id, "points": part.points, "text": part.text}
                            for part in award.parts
                        ]
                    }
                    entry_rows.append(
                        (
                            entry_id,
                            member.id,
                            "earn",
                            f"purchase:{purchase_id}",
                            dt(occurred_at),
                            now_db,
                            points,
                            award.explanation[:1000],
                            json.dumps(detail),
                        )
                    )
                    lot_rows.append(
                        (
                            lot_id,
                            member.id,
                            entry_id,
                            points,
                            points,
                            "pending" if is_pending else "available",
                            dt(occurred_at),
                            dt(available_at),
                            dt(expires_at) if expires_at else None,
                            f"purchase:{p.order_id}"[:200],
                        )
                    )
                    account = entries.MEMBER_PENDING if is_pending else entries.MEMBER_AVAILABLE
                    posting_rows.append((entry_id, member.id, account, points, lot_id))
                    posting_rows.append(
                        (entry_id, member.id, entries.PROGRAM_ISSUED, -points, None)
                    )
                    change = balance[member.id]
                    change[0 if is_pending else 1] += points
                    for rule_id, rule_points in award.by_rule.items():
                        if rule_id in capped:
                            usage_rows.append(
                                (member.id, rule_id, entry_id, rule_points, dt(occurred_at))
                            )
                            used.add(member.id, rule_id, occurred_at, rule_points)
                    result.points += points
        else:
            result.unmatched += 1
        owner = member.id if member is not None else None
        purchase_rows.append(
            (
                purchase_id,
                p.order_id,
                owner,
                identity[0] if identity else None,
                identity[1] if identity else None,
                p.channel,
                p.store_id,
                dt(occurred_at),
                config.currency,
                total,
                points,
                order_points,
                json.dumps(dict(p.attributes)),
                now_db,
            )
        )
        for line_no, (line, amount, lp) in enumerate(
            zip(p.lines, amounts, line_points, strict=True), start=1
        ):
            line_rows.append(
                (
                    next(next_line),
                    purchase_id,
                    owner,
                    line_no,
                    line.sku,
                    line.name,
                    line.category,
                    line.quantity,
                    line.unit_price_minor,
                    amount,
                    lp,
                )
            )
    result.written = len(purchase_rows)

    # 5. Write: parents before children.
    writer = _Writer(conn)
    writer.insert(
        "purchases",
        (
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
        ),
        purchase_rows,
    )
    writer.insert(
        "purchase_lines",
        (
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
        ),
        line_rows,
    )
    writer.insert(
        "journal_entries",
        (
            "id",
            "member_id",
            "kind",
            "key",
            "effective_at",
            "recorded_at",
            "points",
            "explanation",
            "detail",
        ),
        entry_rows,
    )
    writer.insert(
        "point_lots",
        (
            "id",
            "member_id",
            "entry_id",
            "points",
            "remaining",
            "state",
            "earned_at",
            "available_at",
            "expires_at",
            "source",
        ),
        lot_rows,
    )
    writer.insert(
        "postings", ("entry_id", "member_id", "account", "amount", "lot_id"), posting_rows
    )
    writer.insert(
        "rule_awards", ("member_id", "rule_id", "entry_id", "points", "awarded_at"), usage_rows
    )
    if balance:
        writer.executemany(
            "UPDATE point_balances SET pending = pending + {p}, available = available + {p}, "
            "lifetime_earned = lifetime_earned + {p}, updated_at = {p} WHERE member_id = {p}",
            [
                (pend, avail, pend + avail, now_db, member_id)
                for member_id, (pend, avail) in sorted(balance.items())
            ],
        )
    # The ORM must not serve rows cached before these writes.
    session.expire_all()
    return result


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
        try:
            time_key: Any = None
            if not self.enabled:
                return None
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
                json.dumps(facts.attributes, sort_keys=True) if facts.attributes else "",
                tuple(facts.lines),
                member.first_purchase,
                member.enrolment_channel,
                json.dumps(member.attributes, sort_keys=True) if member.attributes else "",
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
    held = _award_caches.get(id(ruleset.rules))
    if held is None or held[0].rules is not ruleset.rules or held[0] != ruleset:
        _award_caches.clear()
        held = (ruleset, _AwardCache(ruleset))
        _award_caches[id(ruleset.rules)] = held
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


def _same(value: datetime) -> datetime:
    return value


@lru_cache(maxsize=65536)
def _expiry(
    earned_at: datetime, months: int | None, round_to_month_end: bool, timezone: str
) -> datetime | None:
    return entries.expiry_for(
        earned_at, months=months, round_to_month_end=round_to_month_end, timezone=timezone
    )


def _load_members(session: Session, wanted: set[int]) -> dict[int, _MemberInfo]:
    members: dict[int, _MemberInfo] = {}
    todo = set(wanted)
    while todo:
        ids = sorted(todo)
        todo = set()
        for chunk in _chunks(ids):
            for row in session.execute(
                select(
                    Member.id,
                    Member.status,
                    Member.merged_into_id,
                    Member.enrolment_channel,
                    Member.attributes,
                ).where(Member.id.in_(chunk))
            ):
                info = _MemberInfo(
                    row.id,
                    row.status,
                    row.merged_into_id,
                    row.enrolment_channel,
                    row.attributes or {},
                )
                members[info.id] = info
                merged_into = info.merged_into_id
                if merged_into is not None and merged_into not in members:
                    todo.add(merged_into)
    return members


class _CapUsage:
    """Points each capped rule has given each member, per cap window."""

    def __init__(
        self,
        session: Session,
        ruleset: RuleSet,
        member_ids: Sequence[int],
        times: Sequence[datetime],
    ) -> None:
        self.ruleset = ruleset
        self.rules = [(rule.id, rule.cap.period) for rule in ruleset.capped if rule.cap]
        self.used: dict[tuple[int, str, datetime | None], int] = defaultdict(int)
        if not self.rules or not member_ids or not times:
            return
        periods = dict(self.rules)
        starts: list[datetime] = []
        for _, period in self.rules:
            window = self._window(period, min(times))
            if window is None:
                starts.clear()
                break
            starts.append(window[0])
        earliest = min(starts) if starts else None
        for chunk in _chunks(list(member_ids)):
            query = select(
                RuleAward.member_id, RuleAward.rule_id, RuleAward.awarded_at, RuleAward.points
            ).where(RuleAward.member_id.in_(chunk), RuleAward.rule_id.in_(list(periods)))
            if earliest is not None:
                query = query.where(RuleAward.awarded_at >= earliest)
            for member_id, rule_id, at, points in session.execute(query):
                self.add(member_id, rule_id, at, int(points), periods[rule_id])

    def _window(self, period: str, at: datetime) -> tuple[datetime, datetime] | None:
        # Cap windows start at local midnights: whole minutes in every time zone.
        return _cap_window(period, at.replace(second=0, microsecond=0), self.ruleset.timezone)

    def add(
        self, member_id: int, rule_id: str, at: datetime, points: int, period: str | None = None
    ) -> None:
        if period is None:
            period = next(p for r, p in self.rules if r == rule_id)
        window = self._window(period, at)
        self.used[(member_id, rule_id, window[0] if window else None)] += points

    def for_purchase(self, member_id: int, at: datetime) -> dict[str, int]:
        out: dict[str, int] = {}
        for rule_id, period in self.rules:
            window = self._window(period, at)
            out[rule_id] = self.used.get((member_id, rule_id, window[0] if window else None), 0)
        return out


@lru_cache(maxsize=65536)
def _cap_window(period: str, at: datetime, timezone: str) -> tuple[datetime, datetime] | None:
    return cap_window(period, at, timezone)


class _IdAllocator:
    """Primary keys for rows about to be inserted. SQLite: after max(id), safe because the
    write transaction (BEGIN IMMEDIATE) excludes other writers. PostgreSQL: from the table's
    sequence."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def take(self, table: str, n: int) -> list[int]:
        if n == 0:
            return []
        if self.conn.dialect.name == "sqlite":
            start = (
                int(
                    self.conn.exec_driver_sql(
                        f"SELECT COALESCE(MAX(id), 0) FROM {table}"
                    ).scalar_one()
                )
                + 1
            )
            return list(range(start, start + n))
        return [
            int(v)
            for v in self.conn.execute(
                text(
                    f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": n},
            ).scalars()
        ]


class _Writer:
    """Multi-row inserts on the driver's cursor: ``executemany`` on SQLite, ``COPY`` on
    PostgreSQL."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.raw: Any = conn.connection.driver_connection

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(columns)
        cursor = self.raw.cursor()
        try:
            if self.sqlite:
                marks = ", ".join("?" * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            else:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        finally:
            cursor.close()

    def executemany(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        cursor = self.raw.cursor()
        try:
            cursor.executemany(statement.format(p="?" if self.sqlite else "%s"), rows)
        finally:
            cursor.close()


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
