"""Builders for coupon tests."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.coupons import queries, redemptions, service, validation
from lojal.coupons.models import CouponCampaign, CouponCode, CouponRedemption
from lojal.coupons.schemas import (
    CampaignCreate,
    CommitRequest,
    CouponCheck,
    ReleaseRequest,
    ReserveRequest,
    ValidationRead,
)

_seq = itertools.count(1)


def campaign(session: Session, clock: FixedClock, **kw: Any) -> CouponCampaign:
    data: dict[str, Any] = {
        "name": f"Campaign {next(_seq)}",
        "discount_kind": "amount",
        "amount_minor": 5_000,
    }
    data.update(kw)
    return service.create_campaign(
        session, data=CampaignCreate.model_validate(data), now=clock.now()
    )


def codes_of(
    session: Session, clock: FixedClock, campaign: CouponCampaign, n: int = 1
) -> list[str]:
    key = f"batch-{next(_seq)}"
    service.generate(session, campaign_id=campaign.id, key=key, count=n, now=clock.now())
    batch = queries.find_batch(session, campaign.id, key)
    assert batch is not None
    rows = session.query(CouponCode).filter(CouponCode.batch_id == batch.id)
    return [row.code for row in rows.order_by(CouponCode.id)]


def basket(total: int = 20_000, **kw: Any) -> dict[str, Any]:
    return {"total_minor": total, **kw}


def check(
    session: Session, clock: FixedClock, code: str, total: int = 20_000, **kw: Any
) -> ValidationRead:
    body = CouponCheck.model_validate({"code": code, "basket": basket(total), **kw})
    return validation.validate(session, check=body, now=clock.now()).read


def reserve(
    session: Session, clock: FixedClock, code: str, reference: str, total: int = 20_000, **kw: Any
) -> CouponRedemption:
    body = ReserveRequest.model_validate(
        {"code": code, "reference": reference, "basket": basket(total), **kw}
    )
    return redemptions.reserve(session, request=body, now=clock.now())


def commit(
    session: Session, clock: FixedClock, code: str, order_id: str, **kw: Any
) -> CouponRedemption:
    data: dict[str, Any] = {"code": code, "order_id": order_id, **kw}
    if "reference" not in data and "basket" not in data:
        data["basket"] = basket()
    return redemptions.commit(session, request=CommitRequest.model_validate(data), now=clock.now())


def release(session: Session, clock: FixedClock, code: str, reference: str) -> CouponRedemption:
    body = ReleaseRequest(code=code, reference=reference)
    return redemptions.release(session, request=body, now=clock.now())
