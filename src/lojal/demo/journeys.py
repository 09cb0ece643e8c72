"""The ready-made journeys (``journeys.yaml``): the coupon campaigns and the segment they
name, the channels' caps and quiet hours, and the journeys, switched on. ``lojal demo``
loads them into the demo club; a club may load the same file with its own campaigns."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.coupons import service as coupons
from lojal.coupons.models import CouponCampaign
from lojal.coupons.schemas import CampaignCreate
from lojal.journeys import service as journeys
from lojal.journeys.models import Journey
from lojal.segments import service as segments
from lojal.segments.models import Segment
from lojal.segments.schemas import SegmentCreate

JOURNEYS_FILE = Path(__file__).with_name("journeys.yaml")


def ready_made() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(JOURNEYS_FILE.read_text(encoding="utf-8"))
    return data


def apply_ready_made(session: Session, *, now: datetime, enable: bool = True) -> list[Journey]:
    """Make what the ready-made journeys name (campaigns, segments: once), set the channels'
    policies and save the journeys (switched on with ``enable``). A journey's holdout is kept
    only where its audience can hold one (at least 1,000 members within 10 %): in a smaller
    club the journey goes without (``journeys.service.fitted_holdout``)."""
    data = ready_made()
    for item in data.get("campaigns", []):
        found = session.scalar(select(CouponCampaign.id).where(CouponCampaign.name == item["name"]))
        if found is None:
            coupons.create_campaign(session, data=CampaignCreate.model_validate(item), now=now)
    for item in data.get("segments", []):
        if session.scalar(select(Segment.id).where(Segment.code == item["code"])) is None:
            segments.create(session, data=SegmentCreate.model_validate(item), now=now)
    definitions, policies = journeys.parse_data(
        {"journeys": data["journeys"], "policies": data.get("policies", {})}
    )
    for policy in policies:
        journeys.set_policy(session, data=policy, now=now)
    fitted = [journeys.fitted_holdout(session, d, now=now) for d in definitions]
    return journeys.apply(session, definitions=fitted, now=now, enable=enable)
