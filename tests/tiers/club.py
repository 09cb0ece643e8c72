"""A club with tiers for the tier and membership tests: Bronze (everyone), Silver from
1,000 SEK and Gold from 3,000 SEK spent in a rolling 12 months; one level down per review."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.activities.models import Event
from lojal.program.schemas import ProgramConfig
from lojal.tiers.models import TierChange
from tests.conftest import apply_program

SILVER = 100_000  # 1,000.00 SEK
GOLD = 300_000  # 3,000.00 SEK

TIERS: dict[str, Any] = {
    "basis": "spend",
    "period": "rolling_12_months",
    "downgrade": {"max_levels": 1, "grace_days": 0},
    "levels": [
        {"code": "bronze", "name": "Bronze", "threshold": 0, "perks": ["Member prices"]},
        {
            "code": "silver",
            "name": "Silver",
            "threshold": SILVER,
            "multiplier": "1.25",
            "perks": ["Free coffee refill"],
        },
        {
            "code": "gold",
            "name": "Gold",
            "threshold": GOLD,
            "multiplier": "1.5",
            "perks": ["Free delivery", "Early access to sales"],
        },
    ],
}


def tiers(**overrides: Any) -> dict[str, Any]:
    """The test tiers with top-level keys replaced (``downgrade={...}``, ``period=...``)."""
    out = copy.deepcopy(TIERS)
    out.update(overrides)
    return out


def apply_tiers(session: Session, now: datetime, **overrides: Any) -> ProgramConfig:
    """Apply the default test programme with tiers (``tiers=None`` for none)."""
    program_overrides = {k: v for k, v in overrides.items() if k not in TIERS}
    tier_overrides = {k: v for k, v in overrides.items() if k in TIERS}
    if "tiers" not in program_overrides:
        program_overrides["tiers"] = tiers(**tier_overrides)
    return apply_program(session, now, **program_overrides)


def amount(minor: int) -> dict[str, Any]:
    """One purchase line worth ``minor``."""
    return {"sku": "SKU-1", "quantity": 1, "unit_price_minor": minor}


def changes(session: Session, member_id: int) -> list[tuple[str | None, str | None, str]]:
    rows = session.scalars(
        select(TierChange).where(TierChange.member_id == member_id).order_by(TierChange.id)
    )
    return [(row.from_tier, row.to_tier, row.reason) for row in rows]


def tier_events(session: Session, member_id: int, type: str = "tier_changed") -> list[Event]:
    return list(
        session.scalars(
            select(Event).where(Event.member_id == member_id, Event.type == type).order_by(Event.id)
        )
    )
