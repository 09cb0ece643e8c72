"""What a member merge does to coupons: codes issued to (bound to) the merged member become
the target's, so the target can use them; its redemptions — the history, and reservations
still held — become the target's too; the per-member use counts of each campaign are added
up on the target (``coupon_member_uses``, one row per campaign and member), so a "once per
member" campaign the two halves each used counts as used twice, not as unused. See
``lojal.members.merging``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lojal.coupons.models import CouponCode, CouponMemberUse, CouponRedemption

TABLES = {
    "coupon_codes": "moved",
    "coupon_redemptions": "moved",
    "coupon_member_uses": "combined",
}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, model in (("codes", CouponCode), ("redemptions", CouponRedemption)):
        count = session.scalar(
            select(func.count()).select_from(model).where(model.member_id == source_id)
        )
        if count:
            session.execute(
                update(model).where(model.member_id == source_id).values(member_id=target_id)
            )
            out[name] = int(count)
    theirs = list(
        session.scalars(select(CouponMemberUse).where(CouponMemberUse.member_id == source_id))
    )
    if theirs:
        mine = {
            row.campaign_id: row
            for row in session.scalars(
                select(CouponMemberUse).where(
                    CouponMemberUse.member_id == target_id,
                    CouponMemberUse.campaign_id.in_([row.campaign_id for row in theirs]),
                )
            )
        }
        for row in theirs:
            held = mine.get(row.campaign_id)
            if held is None:
                session.add(
                    CouponMemberUse(
                        campaign_id=row.campaign_id,
                        member_id=target_id,
                        uses=row.uses,
                        held=row.held,
                    )
                )
            else:
                held.uses += row.uses
                held.held += row.held
            session.delete(row)
        out["campaigns"] = len(theirs)
    session.flush()
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (CouponCode, CouponRedemption)):
            session.expire(obj, ["member_id"])
    return out
