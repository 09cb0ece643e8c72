"""Paid membership use cases: plans; start, renew, cancel and lapse; fees as revenue.

The shop takes the money in its own checkout and tells lojal (``record_payment``): the first
payment on a plan starts a membership, each later one pays one more interval and moves the
renewal date. A cancelled membership stays active until the end of what was paid (there are no
refunds here); a membership whose renewal date passes unpaid ends (``lapse_due``, a step of
``lojal jobs run``): its benefits end and the member's tier falls back to what they qualify
for. A plan that gives a tier gives it for as long as the membership is active: the member's
tier is the higher of that and their qualified tier (``lojal.tiers``).

Membership changes are recorded as events (``membership_started``, ``membership_renewed``,
``membership_cancelled``, ``membership_ended``) and handed, with the tier changes they cause,
to the features that react (``lojal.reactions``): a membership is a fact's source, not a
reaction, so it calls the dispatcher itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.activities.system import SystemEvent, record_events
from lojal.members import service as members
from lojal.memberships import queries
from lojal.memberships.errors import (
    MembershipOnOtherPlan,
    NoActiveMembership,
    PaymentReferenceReused,
    PlanCurrencyMismatch,
    PlanExists,
    PlanNotFound,
    PlanRetired,
    UnknownPlan,
)
from lojal.memberships.models import Membership, MembershipPlan, RevenueRecord
from lojal.memberships.queries import MEMBERSHIP_FEE
from lojal.memberships.schemas import (
    MemberMemberships,
    MembershipRead,
    PaymentCreate,
    PaymentRead,
    PlanCreate,
    PlanRead,
    PlanUpdate,
)
from lojal.program import service as program_service
from lojal.tiers import qualification
from lojal.tiers import service as tiers
from lojal.tiers.changes import lock_members
from lojal.tiers.errors import UnknownTier

MONTHS = {"year": 12, "month": 1}


# ------------------------------------------------------------------ plans


def create_plan(session: Session, *, data: PlanCreate, now: datetime) -> MembershipPlan:
    config = program_service.current(session)
    currency = data.currency or config.currency
    if currency != config.currency:
        raise PlanCurrencyMismatch(
            f"the club's currency is {config.currency}, not {currency}", field="currency"
        )
    if data.tier is not None and (config.tiers is None or config.tiers.rank(data.tier) < 0):
        known = ", ".join(config.tiers.codes) if config.tiers else "none"
        raise UnknownTier(f"the programme has no tier {data.tier!r} (tiers: {known})", field="tier")
    if queries.plan_by_code(session, data.code) is not None:
        raise PlanExists(f"a plan with code {data.code!r} exists", field="code")
    plan = MembershipPlan(
        code=data.code,
        name=data.name,
        description=data.description,
        price_minor=data.price_minor,
        currency=currency,
        interval=data.interval,
        tier=data.tier,
        status="active",
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    session.flush()
    return plan


def get_plan(session: Session, code: str) -> MembershipPlan:
    plan = queries.plan_by_code(session, code)
    if plan is None:
        raise PlanNotFound(f"there is no plan {code!r}")
    return plan


def list_plans(session: Session, *, include_retired: bool = False) -> list[MembershipPlan]:
    return queries.plans(session, include_retired=include_retired)


def update_plan(session: Session, *, code: str, data: PlanUpdate, now: datetime) -> MembershipPlan:
    plan = get_plan(session, code)
    for name in ("name", "description", "price_minor"):
        if name in data.model_fields_set:
            value = getattr(data, name)
            if value is None and name != "description":
                continue
            setattr(plan, name, value)
    plan.updated_at = now
    session.flush()
    return plan


def retire_plan(session: Session, *, code: str, now: datetime) -> MembershipPlan:
    """No new memberships on the plan; the active ones can still be renewed."""
    plan = get_plan(session, code)
    if plan.status != "retired":
        plan.status = "retired"
        plan.updated_at = now
        session.flush()
    return plan


# ------------------------------------------------------------------ a member's membership


def record_payment(
    session: Session, *, member_id: int, data: PaymentCreate, now: datetime
) -> tuple[RevenueRecord, Membership, bool]:
    """Record a membership fee: start a membership on the plan or renew it by one interval.
    Returns the revenue record, the membership, and whether the payment is new (a reference
    recorded before gives the first recording back; with another member, plan or amount it is
    refused)."""
    member = members.get_active(session, member_id)
    plan = queries.plan_by_code(session, data.plan)
    if plan is None:
        raise UnknownPlan(f"there is no plan {data.plan!r}", field="plan")
    replay = _replay(session, member.id, plan, data)
    if replay is not None:
        return replay
    if data.currency != plan.currency:
        raise PlanCurrencyMismatch(
            f"plan {plan.code!r} is paid in {plan.currency}, not {data.currency}",
            field="currency",
        )
    lock_members(session, [member.id])
    # Again under the lock: the same payment may have been recorded meanwhile.
    replay = _replay(session, member.id, plan, data)
    if replay is not None:
        return replay
    timezone = program_service.current(session).timezone
    paid_at = data.paid_at or now
    membership = queries.active_membership(session, member.id)
    if membership is not None and membership.plan_id != plan.id:
        current = session.get(MembershipPlan, membership.plan_id)
        raise MembershipOnOtherPlan(
            f"member {member.id} has an active membership on plan "
            f"{current.code if current else membership.plan_id!r}: it must end first",
            field="plan",
        )
    if membership is None:
        if plan.status == "retired":
            raise PlanRetired(f"plan {plan.code!r} is retired", field="plan")
        membership = Membership(
            member_id=member.id,
            plan_id=plan.id,
            status="active",
            started_at=paid_at,
            periods=1,
            renews_at=_renews_at(paid_at, plan, 1, timezone),
            updated_at=now,
        )
        session.add(membership)
        session.flush()
        period_start = paid_at
        kind = "membership_started"
    else:
        period_start = membership.renews_at
        membership.periods += 1
        membership.renews_at = _renews_at(membership.started_at, plan, membership.periods, timezone)
        # paying again resumes a cancelled membership
        membership.cancelled_at = None
        membership.updated_at = now
        kind = "membership_renewed"
    record = RevenueRecord(
        kind=MEMBERSHIP_FEE,
        reference=data.reference,
        member_id=member.id,
        plan_id=plan.id,
        membership_id=membership.id,
        amount_minor=data.amount_minor,
        currency=data.currency,
        occurred_at=paid_at,
        recorded_at=now,
        period_start=period_start,
        period_end=membership.renews_at,
        detail={"plan": plan.code},
    )
    session.add(record)
    session.flush()
    if plan.tier is not None:
        set_paid_tiers(
            session,
            [
                tiers.PaidTierChange(
                    member.id,
                    plan.tier,
                    membership.renews_at,
                    now,
                    "paid_membership",
                    {"plan": plan.code, "reference": data.reference},
                )
            ],
            now=now,
        )
    event_id = f"{kind}:{membership.id if kind == 'membership_started' else record.id}"
    _events(session, [(event_id, kind, membership, plan, paid_at, {})], now)
    return record, membership, True


def _replay(
    session: Session, member_id: int, plan: MembershipPlan, data: PaymentCreate
) -> tuple[RevenueRecord, Membership, bool] | None:
    existing = queries.payment_by_reference(session, data.reference)
    if existing is None:
        return None
    same = (
        existing.member_id == member_id
        and existing.plan_id == plan.id
        and existing.amount_minor == data.amount_minor
        and existing.currency == data.currency
    )
    if not same or existing.membership_id is None:
        raise PaymentReferenceReused(
            f"payment {data.reference!r} was recorded for another member, plan or amount",
            field="reference",
        )
    membership = session.get(Membership, existing.membership_id)
    assert membership is not None
    return existing, membership, False


def _renews_at(started_at: datetime, plan: MembershipPlan, periods: int, timezone: str) -> datetime:
    return qualification.add_months(started_at, MONTHS[plan.interval] * periods, timezone)


def cancel(session: Session, *, member_id: int, now: datetime) -> Membership:
    """Cancel the member's membership: it stays active, with its benefits, until the end of
    the paid period, and then ends. Cancelling again changes nothing."""
    member = members.get_active(session, member_id)
    lock_members(session, [member.id])
    membership = queries.active_membership(session, member.id)
    if membership is None:
        raise NoActiveMembership(f"member {member.id} has no active membership")
    if membership.cancelled_at is None:
        membership.cancelled_at = now
        membership.updated_at = now
        session.flush()
        plan = session.get(MembershipPlan, membership.plan_id)
        assert plan is not None
        until = {"until": membership.renews_at.isoformat()}
        event = (f"membership_cancelled:{membership.id}", "membership_cancelled")
        _events(session, [(*event, membership, plan, now, until)], now)
    return membership


def lapse_due(session: Session, *, now: datetime, limit: int = 2000) -> int:
    """End the active memberships whose paid period is over (``lojal jobs run``): cancelled
    ones and those not renewed in time. Their tier falls back to the qualified one. Returns how
    many ended; safe to run twice."""
    due = queries.due_to_end(session, now=now, limit=limit)
    if not due:
        return 0
    lock_members(session, [member_id for _, member_id in due])
    rows = list(
        session.scalars(
            select(Membership)
            .where(
                Membership.id.in_([membership_id for membership_id, _ in due]),
                Membership.status == "active",
                Membership.renews_at <= now,
            )
            .order_by(Membership.id)
        )
    )
    plans = queries.plans_by_id(session, [m.plan_id for m in rows])
    changes: list[tiers.PaidTierChange] = []
    events: list[tuple[str, str, Membership, MembershipPlan, datetime, dict[str, Any]]] = []
    for membership in rows:
        membership.status = "ended"
        membership.ended_at = membership.renews_at
        membership.end_reason = "cancelled" if membership.cancelled_at else "lapsed"
        membership.updated_at = now
        plan = plans[membership.plan_id]
        if plan.tier is not None:
            detail = {"plan": plan.code, "membership_id": membership.id}
            changes.append(
                tiers.PaidTierChange(
                    membership.member_id, None, None, membership.renews_at, "lapse", detail
                )
            )
        reason = {"reason": membership.end_reason}
        event_id = f"membership_ended:{membership.id}"
        events.append(
            (event_id, "membership_ended", membership, plan, membership.renews_at, reason)
        )
    session.flush()
    set_paid_tiers(session, changes, now=now)
    _events(session, events, now)
    return len(rows)


def _events(
    session: Session,
    items: Sequence[tuple[str, str, Membership, MembershipPlan, datetime, dict[str, Any]]],
    now: datetime,
) -> None:
    recorded = record_events(
        session,
        [
            SystemEvent(
                event_id,
                membership.member_id,
                kind,
                at,
                {
                    "plan": plan.code,
                    "tier": plan.tier,
                    "renews_at": membership.renews_at.isoformat(),
                    **extra,
                },
            )
            for event_id, kind, membership, plan, at, extra in items
        ],
        now,
    )
    reactions.after_events(session, recorded, now)


def set_paid_tiers(
    session: Session, changes: Sequence[tiers.PaidTierChange], *, now: datetime
) -> None:
    """Give or take away the tiers of paid memberships (``lojal.tiers.service``), and let the
    other features react to the tier changes."""
    reactions.after_events(session, tiers.set_paid_tiers(session, changes, now=now), now)


# ------------------------------------------------------------------ reads


def plan_read(plan: MembershipPlan) -> PlanRead:
    return PlanRead(
        code=plan.code,
        name=plan.name,
        description=plan.description,
        price_minor=plan.price_minor,
        currency=plan.currency,
        interval=plan.interval,
        tier=plan.tier,
        status=plan.status,
        created_at=plan.created_at,
    )


def payment_read(record: RevenueRecord, plan_code: str | None) -> PaymentRead:
    return PaymentRead(
        id=record.id,
        kind=record.kind,
        reference=record.reference,
        member_id=record.member_id,
        plan=plan_code,
        amount_minor=record.amount_minor,
        currency=record.currency,
        paid_at=record.occurred_at,
        period_start=record.period_start,
        period_end=record.period_end,
    )


def membership_reads(session: Session, rows: Sequence[Membership]) -> list[MembershipRead]:
    plans = queries.plans_by_id(session, [m.plan_id for m in rows])
    payments = queries.payments_of(session, [m.id for m in rows])
    return [
        MembershipRead(
            id=m.id,
            member_id=m.member_id,
            plan=plan_read(plans[m.plan_id]),
            status="active" if m.status == "active" else "ended",
            started_at=m.started_at,
            renews_at=m.renews_at,
            cancelled_at=m.cancelled_at,
            ended_at=m.ended_at,
            end_reason=m.end_reason,
            payments=[payment_read(p, plans[m.plan_id].code) for p in payments.get(m.id, [])],
        )
        for m in rows
    ]


def of_member(session: Session, *, member_id: int) -> MemberMemberships:
    member = members.resolve(session, members.get(session, member_id))
    history = membership_reads(session, queries.memberships_of(session, member.id))
    active = next((m for m in history if m.status == "active"), None)
    return MemberMemberships(member_id=member.id, active=active, history=history)
