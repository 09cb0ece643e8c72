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
driver's cursor (``lojal.db.driver``). What each purchase earns is ``activities.awarding``; the
ledger's rows are built by ``ledger.rows`` (every entry checked to balance) and written by
``ledger.writer``; the caps' usage is written by ``rules.usage``. The values it takes and
gives are ``activities.batch``.

The same ``prepare``/``apply`` credit the purchases that waited for a member to enrol
(``prepare_credit``, from ``activities.crediting``): the same award, caps and first purchase as
a purchase recorded live, the rows updated instead of inserted.

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

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from lojal import reactions
from lojal.activities import queries
from lojal.activities.awarding import Planned, award_batch
from lojal.activities.batch import (
    BatchResult,
    BulkPurchase,
    ImportState,
    Prepared,
    Rejected,
    Waiting,
)
from lojal.activities.queries import MemberRow, load_members
from lojal.db.driver import Driver
from lojal.fraud import guards as fraud_guards
from lojal.fraud.alerts import NewAlert, raise_alerts
from lojal.fraud.schemas import FraudConfig
from lojal.ledger import writer as ledger_writer
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.rules import usage as rule_usage
from lojal.rules.usage import CapUsage

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


def import_purchases(
    session: Session,
    purchases: Sequence[BulkPurchase],
    now: datetime,
    *,
    config: ProgramConfig | None = None,
    state: ImportState | None = None,
    details: bool = False,
    guard: bool = False,
) -> BatchResult:
    """Record ``purchases`` (in order) with their points; see the module docstring.
    ``guard``: live purchases (an API request's), which the fraud guards check — the earn
    limits and the back-dating alert; an import is history and is not checked."""
    prepared = prepare(
        session, purchases, now, config=config, state=state, details=details, guard=guard
    )
    written = apply(session, prepared)
    assert written is not None  # nothing to verify: read and written in one transaction
    return written


def prepare(
    session: Session,
    purchases: Sequence[BulkPurchase],
    now: datetime,
    *,
    config: ProgramConfig | None = None,
    state: ImportState | None = None,
    details: bool = False,
    guard: bool = False,
) -> Prepared:
    """Read what the rules need and compute the batch's rows (nothing is written)."""
    config = config or program_service.current(session)
    state = state or ImportState()
    state.trim()
    result = BatchResult(read=len(purchases))
    out = Prepared(now=now, result=result, state=state, ruleset=config.ruleset(), guarded=guard)
    db = Driver.of(session)

    # 1. Order ids already recorded (repeats within the batch are found in step 2).
    recorded = queries.recorded_order_ids(db, list({p.order_id for p in purchases}))
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
        for value, member_id in queries.members_by_identity(db, kind, values):
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
    members = load_members(db, wanted, out.member_rows)

    def resolve(member_id: int) -> MemberRow:
        member = members[member_id]
        hops = 0
        while member.status == "merged" and member.merged_into_id is not None and hops < 100:
            member = members[member.merged_into_id]
            hops += 1
        return member

    plan: list[tuple[int, BulkPurchase, MemberRow | None, tuple[str, str] | None]] = []
    for i, p in todo:
        member: MemberRow | None = None
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

    _award(out, plan, members, db=db, config=config, details=details)
    return out


def prepare_credit(
    session: Session, waiting: Sequence[Waiting], now: datetime, *, config: ProgramConfig
) -> Prepared:
    """The rows that credit purchases recorded before their member enrolled (``waiting``, in
    order) as a batch of new purchases would be credited: the same award, caps and first
    purchase. ``apply`` then updates their rows and writes their entries."""
    result = BatchResult(read=len(waiting))
    out = Prepared(now=now, result=result, state=ImportState(), ruleset=config.ruleset())
    out.credited = [w.purchase_id for w in waiting]
    out.credited_lines = [line_id for w in waiting for line_id in w.line_ids]
    db = Driver.of(session)
    wanted = {w.purchase.member_id for w in waiting if w.purchase.member_id is not None}
    members = load_members(db, wanted, out.member_rows)
    plan: list[Planned] = []
    for i, w in enumerate(waiting):
        assert w.purchase.member_id is not None
        assert len(w.line_ids) == len(w.purchase.lines)
        plan.append((i, w.purchase, members[w.purchase.member_id], None))
    _award(out, plan, members, db=db, config=config, details=False)
    return out


def _award(
    out: Prepared,
    plan: Sequence[Planned],
    members: dict[int, MemberRow],
    *,
    db: Driver,
    config: ProgramConfig,
    details: bool,
) -> None:
    """Steps 3 and 4: read what the rules read from the database, then award in order."""
    # 3. What the rules read from the database: earlier purchases, the caps' usage so far.
    assert out.ruleset is not None
    member_ids = sorted({m.id for _, _, m, _ in plan if m is not None})
    if not db.sqlite and member_ids:
        ledger_writer.lock_balances(db, member_ids)
        # The members' tiers (read in step 2) may have changed while this batch waited for the
        # lock: a concurrent purchase that upgraded a member. Read them again under the lock.
        for member_id, tier in queries.tiers(db, member_ids):
            members[member_id].tier = tier
    has_purchase = set(out.state.has_purchase)
    unknown = [m for m in member_ids if m not in has_purchase]
    bought_before = queries.bought_before(db, unknown)
    has_purchase.update(bought_before)
    out.first_buyers = [m for m in unknown if m not in bought_before]
    zone = ZoneInfo(config.timezone)
    out.zone = zone
    times = [p.occurred_at for _, p, m, _ in plan if m is not None]
    used = CapUsage(db, out.ruleset, zone, member_ids, times)
    out.cap_reads = dict(used.used)
    out.cap_query = (member_ids, times)
    if out.guarded:  # nothing read unless the club set an earn limit
        out.fraud = config.fraud
        out.earn_window = fraud_guards.earn_window(db, config.fraud, member_ids, out.now)

    # 4. Awards and rows (activities.awarding).
    award_batch(
        out, plan, db=db, config=config, has_purchase=has_purchase, used=used, details=details
    )


def apply(session: Session, prepared: Prepared, *, verify: bool = False) -> BatchResult | None:
    """Write a prepared batch in the session's transaction. With ``verify`` (the batch was
    prepared in an earlier transaction), first check that what it read still holds — the
    members, who has bought before, what the capped rules have given — and write nothing,
    returning None, if not: the caller prepares it again. (A purchase recorded meanwhile
    under one of the batch's order ids makes the insert fail on the unique order id.)"""
    db = Driver.of(session)
    if verify and not _still_holds(db, prepared):
        return None
    if prepared.credited is None:
        ids = db.new_ids(
            {"purchases": len(prepared.purchases), "purchase_lines": len(prepared.lines)}
        )
        pid, lid = ids["purchases"], ids["purchase_lines"]
        db.insert("purchases", PURCHASE_COLUMNS, [(pid[r[0]], *r[1:]) for r in prepared.purchases])
        db.insert(
            "purchase_lines",
            LINE_COLUMNS,
            [(lid[r[0]], pid[r[1]], *r[2:]) for r in prepared.lines],
        )
    else:
        pid, lid = prepared.credited, prepared.credited_lines
        db.many(
            "UPDATE purchases SET member_id = ?, points = ?, order_points = ? WHERE id = ?",
            [(r[2], r[10], r[11], pid[r[0]]) for r in prepared.purchases],
        )
        db.many(
            "UPDATE purchase_lines SET member_id = ?, points = ? WHERE id = ?",
            [(r[2], r[10], lid[r[0]]) for r in prepared.lines],
        )
    entry_ids = ledger_writer.write(
        session, prepared.ledger, now=prepared.now, key_of=lambda k: f"purchase:{pid[k]}"
    )
    rule_usage.write_batch(db, prepared.usage, entry_ids)
    result = prepared.result
    result.details = {
        i: replace(written, purchase_id=pid[written.purchase_id])
        for i, written in result.details.items()
    }
    prepared.state.has_purchase.update(prepared.bought)
    # The ORM must not serve rows cached before these writes.
    session.expire_all()
    if prepared.fraud is not None:
        _raise_alerts(session, prepared.fraud, prepared, pid)
    reactions.after_purchases(
        session,
        [replace(r, purchase_id=pid[r.purchase_id]) for r in prepared.recorded],
        prepared.now,
    )
    return result


def _raise_alerts(
    session: Session, fraud: FraudConfig, prepared: Prepared, pid: Sequence[int]
) -> None:
    """The fraud alerts of live purchases: points held over an earn limit, back-dating (no
    query unless there is one to raise)."""
    alerts = fraud_guards.backdated_alerts(
        fraud,
        prepared.now,
        [(pid[r.purchase_id], r.order_id, r.member_id, r.occurred_at) for r in prepared.recorded],
    )
    alerts += [
        NewAlert(
            f"earn_velocity:{pid[h.purchase_id]}",
            "earn_velocity",
            h.member_id,
            {
                "purchase_id": pid[h.purchase_id],
                "order_id": h.order_id,
                "points": h.points,
                "limit": h.limit,
                "available_at": h.available_at.isoformat(),
                "held_until": h.held_until.isoformat(),
            },
        )
        for h in prepared.held
    ]
    raise_alerts(session, alerts, now=prepared.now)


def _still_holds(db: Driver, prepared: Prepared) -> bool:
    check: dict[int, tuple[Any, ...]] = {}
    load_members(db, set(prepared.member_rows), check)
    if check != prepared.member_rows:
        return False
    if queries.bought_before(db, prepared.first_buyers):
        return False
    if prepared.cap_reads or prepared.cap_query[0]:
        assert prepared.ruleset is not None
        assert prepared.zone is not None
        again = CapUsage(db, prepared.ruleset, prepared.zone, *prepared.cap_query)
        if dict(again.used) != prepared.cap_reads:
            return False
    return True
