from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.memberships.models import Membership, MembershipPlan, RevenueRecord

MEMBERSHIP_FEE = "membership_fee"


def plan_by_code(session: Session, code: str) -> MembershipPlan | None:
    return session.scalar(select(MembershipPlan).where(MembershipPlan.code == code))


def plans(session: Session, *, include_retired: bool) -> list[MembershipPlan]:
    query = select(MembershipPlan).order_by(MembershipPlan.id)
    if not include_retired:
        query = query.where(MembershipPlan.status == "active")
    return list(session.scalars(query))


def plans_by_id(session: Session, ids: Sequence[int]) -> dict[int, MembershipPlan]:
    rows = session.scalars(select(MembershipPlan).where(MembershipPlan.id.in_(set(ids))))
    return {plan.id: plan for plan in rows}


def active_membership(session: Session, member_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(Membership.member_id == member_id, Membership.status == "active")
    )


def memberships_of(session: Session, member_id: int) -> list[Membership]:
    return list(
        session.scalars(
            select(Membership)
            .where(Membership.member_id == member_id)
            .order_by(Membership.id.desc())
        )
    )


def payments_of(session: Session, membership_ids: Sequence[int]) -> dict[int, list[RevenueRecord]]:
    out: dict[int, list[RevenueRecord]] = defaultdict(list)
    if not membership_ids:
        return out
    rows = session.scalars(
        select(RevenueRecord)
        .where(RevenueRecord.membership_id.in_(membership_ids))
        .order_by(RevenueRecord.id)
    )
    for row in rows:
        assert row.membership_id is not None
        out[row.membership_id].append(row)
    return out


def payment_by_reference(session: Session, reference: str) -> RevenueRecord | None:
    return session.scalar(
        select(RevenueRecord).where(
            RevenueRecord.kind == MEMBERSHIP_FEE, RevenueRecord.reference == reference
        )
    )


def due_to_end(session: Session, *, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(membership id, member id) of active memberships whose paid period is over."""
    rows = session.execute(
        select(Membership.id, Membership.member_id)
        .where(Membership.status == "active", Membership.renews_at <= now)
        .order_by(Membership.renews_at, Membership.id)
        .limit(limit)
    )
    return [(int(a), int(b)) for a, b in rows]
