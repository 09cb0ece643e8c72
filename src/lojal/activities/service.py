"""Recording activity and turning it into points.

Purchases, returns and events are append-only and idempotent on their natural ids (order id,
return id, event id): recording the same id again returns what was recorded the first time.

Each record call says who sent it (``dating.Sender``): a channel key (a till, web shop or
app) may date it at most the programme's ``max_backdate_days`` back, and the points of its
late purchase wait the pending period from when lojal learned of it; an admin key may send
history back to 1900; neither may date it ahead. lojal's own callers (the import, the CLI)
check the dates they read themselves. See ``lojal.activities.dating``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.activities import dating
from lojal.activities.bulk import BulkPurchase, import_purchases
from lojal.activities.dating import Sender
from lojal.activities.errors import (
    CurrencyMismatch,
    DateRefused,
    InvalidReturn,
    NothingToReturn,
    OrderNotFound,
    UnknownMember,
)
from lojal.activities.events import EventRecorded, LineFacts, PurchaseRecorded, ReturnRecorded
from lojal.activities.models import Event, Purchase, PurchaseLine, Return, ReturnLine
from lojal.activities.schemas import EventCreate, MemberRef, PurchaseCreate, ReturnCreate
from lojal.db.driver import Driver
from lojal.errors import LojalError
from lojal.ledger import service as ledger
from lojal.ledger.models import JournalEntry, PointLot
from lojal.members import queries as member_queries
from lojal.members import service as members
from lojal.members.identities import normalise
from lojal.members.models import Member
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.rules import service as rule_service
from lojal.rules.engine import (
    Award,
    EventFacts,
    MemberFacts,
    PurchaseFacts,
    award_event,
    award_purchase,
)

REF_FIELDS = (
    ("email", "email"),
    ("phone", "phone"),
    ("card", "card_number"),
    ("external_id", "external_id"),
)


@dataclass
class Recorded:
    """What a record call did: the row, its award's explanation, and whether it was new."""

    row: Any
    explanation: str
    created: bool


def resolve_ref(
    session: Session, ref: MemberRef, config: ProgramConfig
) -> tuple[Member | None, tuple[str, str] | None]:
    """The member an activity belongs to, or the (kind, value) identity to keep for later."""
    if ref.member_id is not None:
        member = session.get(Member, ref.member_id)
        if member is None:
            raise UnknownMember(f"member {ref.member_id} does not exist", field="member_id")
        return members.resolve(session, member), None
    first: tuple[str, str] | None = None
    for kind, field in REF_FIELDS:
        raw = getattr(ref, field)
        if not raw:
            continue
        value = normalise(kind, raw, config.phone_region)
        member_id = member_queries.member_id_by_identity(session, kind, value)
        if member_id is not None:
            return members.resolve(session, members.get(session, member_id)), None
        first = first or (kind, value)
    return None, first


def _member_facts(session: Session, member: Member, before_purchase_id: int | None) -> MemberFacts:
    query = select(Purchase.id).where(Purchase.member_id == member.id, Purchase.points >= 0)
    if before_purchase_id is not None:
        query = query.where(Purchase.id != before_purchase_id)
    earlier = session.scalar(query.limit(1))
    return MemberFacts(
        first_purchase=earlier is None,
        enrolment_channel=member.enrolment_channel,
        attributes=member.attributes,
        tier=member_tier(member),
    )


def member_tier(member: Member) -> str | None:
    """The member's current tier as the rules see it (None while the club has no tiers)."""
    return member.tier


@dataclass(frozen=True, slots=True)
class RecordedLine:
    line_no: int
    sku: str
    name: str | None
    category: str | None
    quantity: int
    unit_price_minor: int
    total_minor: int
    points: int


@dataclass(frozen=True, slots=True)
class RecordedPurchase:
    """A purchase as recorded (or as recorded the first time, for a repeated order id)."""

    id: int
    order_id: str
    member_id: int | None
    channel: str
    store_id: str | None
    occurred_at: datetime
    currency: str
    total_minor: int
    points: int
    lines: tuple[RecordedLine, ...]


def record_purchase(
    session: Session, *, data: PurchaseCreate, now: datetime, sender: Sender = Sender.INTERNAL
) -> Recorded:
    """Record one purchase (see ``record_purchases``); raises what it refuses."""
    outcome = record_purchases(session, items=[data], now=now, sender=sender)[0]
    if isinstance(outcome, LojalError):
        raise outcome
    return outcome


def record_purchases(
    session: Session,
    *,
    items: Sequence[PurchaseCreate],
    now: datetime,
    sender: Sender | Sequence[Sender] = Sender.INTERNAL,
) -> list[Recorded | LojalError]:
    """Record purchases in one batch (``lojal.activities.bulk``), each with its points.

    ``sender``: of all items, or of each (see the module's docstring).

    The answer per item: what was recorded (``created`` False when the order id was recorded
    before: the first recording is given back), or the error that refused it — an identity
    that is not valid, an unknown member id, another currency, a date out of bounds."""
    config = program_service.current(session)
    outcomes: list[Recorded | LojalError | None] = [None] * len(items)
    batch: list[BulkPurchase] = []
    positions: list[int] = []
    for i, data in enumerate(items):
        sent_by = sender if isinstance(sender, Sender) else sender[i]
        occurred_at = data.occurred_at or now
        refused = dating.sender_refusal(
            occurred_at, now=now, sender=sent_by, max_backdate_days=config.max_backdate_days
        )
        if refused is not None:
            outcomes[i] = _already_recorded(session, data.order_id) or DateRefused(
                f"occurred_at: {refused}", field="occurred_at"
            )
            continue
        if data.currency is not None and data.currency != config.currency:
            outcomes[i] = CurrencyMismatch(
                f"the club's currency is {config.currency}, not {data.currency}", field="currency"
            )
            continue
        try:
            refs = {
                field: normalise(kind, raw, config.phone_region)
                for kind, field in REF_FIELDS
                if (raw := getattr(data, field))
            }
        except LojalError as exc:
            outcomes[i] = exc
            continue
        batch.append(
            BulkPurchase(
                order_id=data.order_id,
                occurred_at=occurred_at,
                lines=[
                    LineFacts(
                        line.sku,
                        line.quantity,
                        line.unit_price_minor,
                        line.amount,
                        line.name,
                        line.category,
                    )
                    for line in data.lines
                ],
                member_id=data.member_id,
                channel=data.channel,
                store_id=data.store_id,
                attributes=data.attributes,
                pending_from=dating.pending_starts(
                    occurred_at, recorded_at=now, trusted=sent_by.trusted
                ),
                **refs,
            )
        )
        positions.append(i)
    result = import_purchases(session, batch, now, config=config, details=True)
    rejected = {r.index: r for r in result.rejected}
    skipped = set(result.skipped_indices)
    for j, i in enumerate(positions):
        data = items[i]
        if j in rejected:
            bad = rejected[j]
            outcomes[i] = UnknownMember(bad.reason, field=bad.field)
        elif j in skipped:
            outcomes[i] = recorded_purchase(session, data.order_id)
        else:
            written = result.details[j]
            lines = tuple(
                RecordedLine(
                    n,
                    line.sku,
                    line.name,
                    line.category,
                    line.quantity,
                    line.unit_price_minor,
                    line.amount,
                    points,
                )
                for n, (line, points) in enumerate(
                    zip(data.lines, written.line_points, strict=True), start=1
                )
            )
            row = RecordedPurchase(
                id=written.purchase_id,
                order_id=data.order_id,
                member_id=written.member_id,
                channel=data.channel,
                store_id=data.store_id,
                occurred_at=written.occurred_at,
                currency=config.currency,
                total_minor=written.total_minor,
                points=written.points,
                lines=lines,
            )
            outcomes[i] = Recorded(row, written.explanation, True)
    assert all(outcome is not None for outcome in outcomes)
    return [outcome for outcome in outcomes if outcome is not None]


def _already_recorded(session: Session, order_id: str) -> Recorded | None:
    """The first recording of an order id sent again (a retry answers as a replay, whatever
    its date), or ``None``."""
    if session.scalar(select(Purchase.id).where(Purchase.order_id == order_id)) is None:
        return None
    return recorded_purchase(session, order_id)


def recorded_purchase(session: Session, order_id: str) -> Recorded:
    """The purchase recorded under ``order_id``, as it was recorded (``created`` False)."""
    purchase = session.scalar(select(Purchase).where(Purchase.order_id == order_id))
    if purchase is None:
        raise OrderNotFound(f"order {order_id!r} has not been recorded", field="order_id")
    row = RecordedPurchase(
        id=purchase.id,
        order_id=purchase.order_id,
        member_id=purchase.member_id,
        channel=purchase.channel,
        store_id=purchase.store_id,
        occurred_at=purchase.occurred_at,
        currency=purchase.currency,
        total_minor=purchase.total_minor,
        points=purchase.points,
        lines=tuple(
            RecordedLine(
                line.line_no,
                line.sku,
                line.name,
                line.category,
                line.quantity,
                line.unit_price_minor,
                line.total_minor,
                line.points,
            )
            for line in purchase_lines(session, purchase.id)
        ),
    )
    return Recorded(row, _explanation(session, f"purchase:{purchase.id}"), False)


def _award_purchase(
    session: Session,
    purchase: Purchase,
    lines: Sequence[PurchaseLine],
    member: Member,
    config: ProgramConfig,
    now: datetime,
) -> str:
    ruleset = config.ruleset()
    facts = PurchaseFacts(
        occurred_at=purchase.occurred_at,
        channel=purchase.channel,
        total_minor=purchase.total_minor,
        store_id=purchase.store_id,
        attributes=purchase.attributes,
        lines=[
            LineFacts(
                sku=line.sku,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                total_minor=line.total_minor,
                name=line.name,
                category=line.category,
            )
            for line in lines
        ],
    )
    used = rule_service.used_points(
        session, ruleset=ruleset, member_id=member.id, at=purchase.occurred_at
    )
    award = award_purchase(ruleset, facts, _member_facts(session, member, purchase.id), used)
    if award.points <= 0:
        return award.explanation
    for line, points in zip(lines, award.line_points, strict=True):
        line.points = points
    purchase.points = award.points
    purchase.order_points = award.order_points
    entry = ledger.earn(
        session,
        member_id=member.id,
        points=award.points,
        key=f"purchase:{purchase.id}",
        earned_at=purchase.occurred_at,
        now=now,
        config=config,
        source=f"purchase:{purchase.order_id}",
        explanation=award.explanation,
        detail=_detail(award),
    )
    rule_service.record_usage(
        session,
        ruleset=ruleset,
        award=award,
        member_id=member.id,
        entry_id=entry.id,
        at=purchase.occurred_at,
    )
    session.flush()
    return award.explanation


def _detail(award: Award) -> dict[str, Any]:
    return {"parts": [{"rule": p.rule_id, "points": p.points, "text": p.text} for p in award.parts]}


def _explanation(session: Session, key: str) -> str:
    return session.scalar(select(JournalEntry.explanation).where(JournalEntry.key == key)) or ""


def returned_quantities(session: Session, purchase_id: int) -> dict[int, int]:
    rows = session.execute(
        select(ReturnLine.purchase_line_id, func.sum(ReturnLine.quantity))
        .join(PurchaseLine, PurchaseLine.id == ReturnLine.purchase_line_id)
        .where(PurchaseLine.purchase_id == purchase_id)
        .group_by(ReturnLine.purchase_line_id)
    )
    return {line_id: int(qty) for line_id, qty in rows}


def line_points_returned(points: int, quantity: int, before: int, after: int) -> int:
    """Points of a line that ``after - before`` returned units take back. Cumulative rounding:
    returning every unit, in any number of returns, takes back exactly the line's points."""
    return points * after // quantity - points * before // quantity


def record_return(
    session: Session, *, data: ReturnCreate, now: datetime, sender: Sender = Sender.INTERNAL
) -> Recorded:
    existing = session.scalar(select(Return).where(Return.return_id == data.return_id))
    if existing is not None:
        return Recorded(existing, "", False)
    occurred_at = data.occurred_at or now
    _check_date(session, occurred_at, now=now, sender=sender, what="a return")
    purchase = session.scalar(
        select(Purchase).where(Purchase.order_id == data.order_id).with_for_update()
    )
    if purchase is None:
        raise OrderNotFound(f"order {data.order_id!r} has not been recorded", field="order_id")
    lines = list(
        session.scalars(
            select(PurchaseLine)
            .where(PurchaseLine.purchase_id == purchase.id)
            .order_by(PurchaseLine.line_no)
        )
    )
    done = returned_quantities(session, purchase.id)
    left = {line.id: line.quantity - done.get(line.id, 0) for line in lines}
    wanted: dict[int, int] = {}
    if data.lines is None:
        wanted = {line_id: qty for line_id, qty in left.items() if qty > 0}
        if not wanted:
            raise NothingToReturn(f"order {data.order_id!r} has already been returned in full")
    else:
        for i, item in enumerate(data.lines):
            line = _find_line(lines, item.line_no, item.sku, left, wanted)
            if line is None:
                raise InvalidReturn(
                    f"lines[{i}]: order {data.order_id!r} has no line "
                    f"{item.line_no if item.line_no is not None else item.sku!r} left to return",
                    field=f"lines[{i}]",
                )
            room = left[line.id] - wanted.get(line.id, 0)
            if item.quantity > room:
                raise InvalidReturn(
                    f"lines[{i}].quantity: {item.quantity} returned but only {room} of "
                    f"line {line.line_no} ({line.sku}) can still be returned",
                    field=f"lines[{i}].quantity",
                )
            wanted[line.id] = wanted.get(line.id, 0) + item.quantity
    row = Return(
        return_id=data.return_id,
        purchase_id=purchase.id,
        member_id=purchase.member_id,
        occurred_at=occurred_at,
        total_minor=0,
        points_clawed_back=0,
        points_unrecovered=0,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    by_id = {line.id: line for line in lines}
    total_minor = 0
    points = 0
    for line_id, qty in wanted.items():
        line = by_id[line_id]
        before = done.get(line_id, 0)
        amount = line.total_minor * (before + qty) // line.quantity - (
            line.total_minor * before // line.quantity
        )
        line_points = line_points_returned(line.points, line.quantity, before, before + qty)
        session.add(
            ReturnLine(
                return_id=row.id,
                purchase_line_id=line_id,
                member_id=purchase.member_id,
                quantity=qty,
                amount_minor=amount,
                points=line_points,
            )
        )
        total_minor += amount
        points += line_points
    fully_returned = all(left[line_id] - wanted.get(line_id, 0) == 0 for line_id in left)
    if fully_returned:
        points += purchase.order_points
    row.total_minor = total_minor
    if points > 0 and purchase.member_id is not None:
        _clawback(session, row, purchase, points, now)
    session.flush()
    if purchase.member_id is not None:
        reactions.after_returns(session, [_return_recorded(row, purchase, fully_returned)], now)
    return Recorded(row, "", True)


def _return_recorded(row: Return, purchase: Purchase, whole: bool) -> ReturnRecorded:
    assert purchase.member_id is not None
    return ReturnRecorded(
        return_id=row.id,
        purchase_id=purchase.id,
        order_id=purchase.order_id,
        member_id=purchase.member_id,
        occurred_at=row.occurred_at,
        total_minor=row.total_minor,
        points_clawed_back=row.points_clawed_back,
        whole_order_returned=whole,
    )


def _clawback(
    session: Session, row: Return, purchase: Purchase, points: int, now: datetime
) -> None:
    assert purchase.member_id is not None
    own_lot = session.scalar(
        select(PointLot.id)
        .join(JournalEntry, JournalEntry.id == PointLot.entry_id)
        .where(JournalEntry.key == f"purchase:{purchase.id}")
    )
    _, short = ledger.clawback(
        session,
        member_id=purchase.member_id,
        points=points,
        own_lot_id=own_lot,
        key=f"return:{row.id}",
        now=now,
        explanation=f"-{points} points: return {row.return_id} of order {purchase.order_id}",
        detail={"return_id": row.return_id, "order_id": purchase.order_id},
    )
    row.points_clawed_back = points - short
    row.points_unrecovered = short


def _find_line(
    lines: Sequence[PurchaseLine],
    line_no: int | None,
    sku: str | None,
    left: dict[int, int],
    wanted: dict[int, int],
) -> PurchaseLine | None:
    for line in lines:
        if line_no is not None and line.line_no != line_no:
            continue
        if sku is not None and line.sku != sku:
            continue
        if line_no is not None or left[line.id] - wanted.get(line.id, 0) > 0:
            return line
    return None


def record_event(
    session: Session, *, data: EventCreate, now: datetime, sender: Sender = Sender.INTERNAL
) -> Recorded:
    if data.event_id is not None:
        existing = session.scalar(select(Event).where(Event.event_id == data.event_id))
        if existing is not None:
            return Recorded(existing, _explanation(session, f"event:{existing.id}"), False)
    config = program_service.current(session)
    occurred_at = data.occurred_at or now
    _check_date(session, occurred_at, now=now, sender=sender, what="an event", config=config)
    member, identity = resolve_ref(session, data, config)
    event = Event(
        event_id=data.event_id or f"lojal:{uuid.uuid4()}",
        member_id=member.id if member else None,
        identity_kind=identity[0] if identity else None,
        identity_value=identity[1] if identity else None,
        type=data.type,
        channel=data.channel,
        occurred_at=occurred_at,
        properties=data.properties,
        points=0,
        recorded_at=now,
    )
    session.add(event)
    session.flush()
    explanation = ""
    if member is not None and member.status == "active":
        pending_from = dating.pending_starts(occurred_at, recorded_at=now, trusted=sender.trusted)
        explanation = _award_event(session, event, member, config, now, pending_from)
    if member is not None:
        reactions.after_events(session, [_event_recorded(event)], now)
    return Recorded(event, explanation, True)


def _check_date(
    session: Session,
    occurred_at: datetime,
    *,
    now: datetime,
    sender: Sender,
    what: str,
    config: ProgramConfig | None = None,
) -> None:
    if sender is Sender.INTERNAL:
        return
    config = config or program_service.current(session)
    refused = dating.sender_refusal(
        occurred_at, now=now, sender=sender, max_backdate_days=config.max_backdate_days, what=what
    )
    if refused is not None:
        raise DateRefused(f"occurred_at: {refused}", field="occurred_at")


def _event_recorded(event: Event) -> EventRecorded:
    assert event.member_id is not None
    return EventRecorded(
        event_id=event.id,
        member_id=event.member_id,
        type=event.type,
        occurred_at=event.occurred_at,
        properties=dict(event.properties),
    )


def _award_event(
    session: Session,
    event: Event,
    member: Member,
    config: ProgramConfig,
    now: datetime,
    pending_from: datetime | None = None,
) -> str:
    ruleset = config.ruleset()
    used = rule_service.used_points(
        session, ruleset=ruleset, member_id=member.id, at=event.occurred_at
    )
    award = award_event(
        ruleset,
        EventFacts(
            type=event.type,
            occurred_at=event.occurred_at,
            properties=event.properties,
            channel=event.channel,
        ),
        MemberFacts(
            enrolment_channel=member.enrolment_channel,
            attributes=member.attributes,
            tier=member_tier(member),
        ),
        used,
    )
    if award.points <= 0:
        return award.explanation
    event.points = award.points
    entry = ledger.earn(
        session,
        member_id=member.id,
        points=award.points,
        key=f"event:{event.id}",
        earned_at=event.occurred_at,
        now=now,
        config=config,
        source=f"event:{event.type}",
        explanation=award.explanation,
        detail=_detail(award),
        pending_from=pending_from,
    )
    rule_service.record_usage(
        session,
        ruleset=ruleset,
        award=award,
        member_id=member.id,
        entry_id=entry.id,
        at=event.occurred_at,
    )
    return award.explanation


def credit_unmatched(
    session: Session, *, member: Member, identities: Sequence[tuple[str, str]], now: datetime
) -> int:
    """Give a new member the purchases and events that arrived for their identities before
    they enrolled, oldest first, with the points the rules give (and any returns applied)."""
    if not identities or not _anything_waiting(session, identities):
        return 0
    credited = 0
    config: ProgramConfig | None = None
    for kind, value in identities:
        purchases = list(
            session.scalars(
                select(Purchase)
                .where(
                    Purchase.member_id.is_(None),
                    Purchase.identity_kind == kind,
                    Purchase.identity_value == value,
                )
                .order_by(Purchase.occurred_at, Purchase.id)
            )
        )
        events = list(
            session.scalars(
                select(Event)
                .where(
                    Event.member_id.is_(None),
                    Event.identity_kind == kind,
                    Event.identity_value == value,
                )
                .order_by(Event.occurred_at, Event.id)
            )
        )
        if not purchases and not events:
            continue
        config = config or program_service.current(session)
        for purchase in purchases:
            purchase.member_id = member.id
            lines = list(
                session.scalars(
                    select(PurchaseLine)
                    .where(PurchaseLine.purchase_id == purchase.id)
                    .order_by(PurchaseLine.line_no)
                )
            )
            for line in lines:
                line.member_id = member.id
            session.execute(
                update(Return).where(Return.purchase_id == purchase.id).values(member_id=member.id)
            )
            session.flush()
            _award_purchase(session, purchase, lines, member, config, now)
            reactions.after_purchases(
                session,
                [
                    PurchaseRecorded(
                        purchase.id,
                        purchase.order_id,
                        member.id,
                        purchase.occurred_at,
                        purchase.channel,
                        purchase.store_id,
                        purchase.total_minor,
                        purchase.points,
                        [_line_facts(line) for line in lines],
                        credited == 0,
                    )
                ],
                now,
            )
            _apply_earlier_returns(session, purchase, lines, now)
            credited += 1
        for event in events:
            event.member_id = member.id
            session.flush()
            _award_event(session, event, member, config, now)
            reactions.after_events(session, [_event_recorded(event)], now)
            credited += 1
    return credited


def _anything_waiting(session: Session, identities: Sequence[tuple[str, str]]) -> bool:
    """Whether any purchase or event waits for one of these identities: one indexed read on
    the driver (nearly every enrolment finds nothing, and the ORM's queries per identity and
    table were a third of an enrolment's time)."""
    db = Driver.of(session)
    match = " OR ".join("(identity_kind = ? AND identity_value = ?)" for _ in identities)
    params = [part for pair in identities for part in pair]
    row = db.one(
        f"SELECT EXISTS (SELECT 1 FROM purchases WHERE member_id IS NULL AND ({match})) "
        f"OR EXISTS (SELECT 1 FROM events WHERE member_id IS NULL AND ({match}))",
        [*params, *params],
    )
    return bool(row[0])


def _line_facts(line: PurchaseLine) -> LineFacts:
    return LineFacts(
        line.sku, line.quantity, line.unit_price_minor, line.total_minor, line.name, line.category
    )


def _apply_earlier_returns(
    session: Session, purchase: Purchase, lines: Sequence[PurchaseLine], now: datetime
) -> None:
    returns = list(
        session.scalars(select(Return).where(Return.purchase_id == purchase.id).order_by(Return.id))
    )
    if not returns:
        return
    by_id = {line.id: line for line in lines}
    done: dict[int, int] = {}
    for row in returns:
        points = 0
        for rl in session.scalars(select(ReturnLine).where(ReturnLine.return_id == row.id)):
            line = by_id[rl.purchase_line_id]
            before = done.get(line.id, 0)
            rl.points = line_points_returned(
                line.points, line.quantity, before, before + rl.quantity
            )
            rl.member_id = purchase.member_id
            done[line.id] = before + rl.quantity
            points += rl.points
        whole = all(done.get(line.id, 0) == line.quantity for line in lines)
        if whole:
            points += purchase.order_points
        if points:
            _clawback(session, row, purchase, points, now)
        reactions.after_returns(session, [_return_recorded(row, purchase, whole)], now)


def purchase_lines(session: Session, purchase_id: int) -> list[PurchaseLine]:
    return list(
        session.scalars(
            select(PurchaseLine)
            .where(PurchaseLine.purchase_id == purchase_id)
            .order_by(PurchaseLine.line_no)
        )
    )
