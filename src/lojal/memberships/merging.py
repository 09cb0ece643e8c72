"""What a member merge does to paid membership.

Every membership and every fee of the merged member becomes the target's (the fees are money
the club received: the KPIs keep them, now under the member that carries on). A member has
at most one active membership, so when **both** have one, the one that runs longer (the
later renewal date; at the same date the target's) carries on and the other ends at the
merge, recorded as cancelled, with a ``membership_ended`` event whose ``reason`` is
``merged`` and whose ``renews_at`` says until when it had been paid. Why not add the two
paid periods up: they ran side by side, and one person has one membership's benefits at a
time — the time both were paid is a refund question for the shop's checkout (which took the
money), and the event tells it exactly what was left. The target's paid tier follows the
membership that carries on.

See ``lojal.members.merging``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from lojal.memberships import queries, service
from lojal.memberships.models import Membership, MembershipPlan, RevenueRecord
from lojal.tiers import service as tiers

TABLES = {"memberships": "moved", "revenue_records": "moved"}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    history = queries.memberships_of(session, source_id)
    if not history:
        return {}
    out: dict[str, Any] = {"memberships": len(history)}
    ended_event: tuple[str, str, Membership, MembershipPlan, datetime, dict[str, Any]] | None = None
    theirs = queries.active_membership(session, source_id)
    mine = queries.active_membership(session, target_id)
    if theirs is not None and mine is not None:
        carries_on, ends = (theirs, mine) if theirs.renews_at > mine.renews_at else (mine, theirs)
        ends.status, ends.end_reason = "ended", "cancelled"
        ends.cancelled_at = ends.cancelled_at or now
        ends.ended_at = ends.updated_at = now
        session.flush()  # before the move: one active membership per member
        plan = session.get(MembershipPlan, ends.plan_id)
        assert plan is not None
        out["ended"] = ends.id
        event = (f"membership_ended:{ends.id}", "membership_ended", ends, plan, now)
        ended_event = (*event, {"reason": "merged", "carries_on": carries_on.id})
    session.execute(
        update(Membership).where(Membership.member_id == source_id).values(member_id=target_id)
    )
    session.execute(
        update(RevenueRecord)
        .where(RevenueRecord.member_id == source_id)
        .values(member_id=target_id)
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (Membership, RevenueRecord)):
            session.expire(obj, ["member_id"])
    if theirs is not None:
        survivor = queries.active_membership(session, target_id)
        assert survivor is not None
        plan = session.get(MembershipPlan, survivor.plan_id)
        assert plan is not None
        out["active"] = survivor.id
        service.set_paid_tiers(
            session,
            [
                tiers.PaidTierChange(
                    target_id,
                    plan.tier,
                    survivor.renews_at if plan.tier is not None else None,
                    now,
                    "paid_membership" if plan.tier is not None else "lapse",
                    {"plan": plan.code, "merged_from": source_id},
                )
            ],
            now=now,
        )
        if ended_event is not None:
            service._events(session, [ended_event], now)
    return out
