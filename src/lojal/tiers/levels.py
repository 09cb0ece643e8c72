"""The club's tiers as configured, and what a member's stored tier state means in them: the
tier a member has (the higher of qualified and paid, at least the tier everyone has) and when
a qualified tier is next reviewed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lojal.errors import ProgramNotConfigured
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.tiers import qualification as q
from lojal.tiers.errors import TiersNotConfigured
from lojal.tiers.schemas import TiersConfig


@dataclass(frozen=True, slots=True)
class TierState:
    """A member's tier as stored: ``members`` and their ``member_tiers`` row (if any)."""

    member_id: int
    status: str
    tier: str | None  # members.tier
    qualified_tier: str | None = None
    qualified_since: datetime | None = None
    review_at: datetime | None = None
    in_grace: bool = False
    grace_to: str | None = None
    paid_tier: str | None = None
    paid_until: datetime | None = None
    has_row: bool = False


def configured(session: Session) -> tuple[ProgramConfig, TiersConfig] | None:
    """The programme and its tiers; None when the club has no tiers (or no programme yet)."""
    try:
        config = program_service.current(session)
    except ProgramNotConfigured:
        return None
    return None if config.tiers is None else (config, config.tiers)


def require(session: Session) -> tuple[ProgramConfig, TiersConfig]:
    found = configured(session)
    if found is None:
        raise TiersNotConfigured("the programme has no tiers: add a 'tiers' section to it")
    return found


def unit(config: ProgramConfig, tiers: TiersConfig) -> str:
    return config.currency if tiers.basis == "spend" else config.point_name


def code(tiers: TiersConfig, rank: int) -> str | None:
    return None if rank < 0 else tiers.levels[rank].code


def effective(tiers: TiersConfig, state: TierState) -> str | None:
    """The tier a member has: the higher of qualified and paid, and at least the tier every
    member has (a lowest tier with threshold 0)."""
    rank = max(tiers.rank(state.qualified_tier), tiers.rank(state.paid_tier), tiers.floor)
    return code(tiers, rank)


def review_after(
    config: ProgramConfig, tiers: TiersConfig, rank: int, start: datetime
) -> datetime | None:
    """When a qualified tier that starts a period at ``start`` is reviewed (None: never, for
    no tier or the tier every member has)."""
    if rank <= tiers.floor:
        return None
    return q.period_end(tiers.period, start, config.timezone)


def window_detail(window: q.Window) -> dict[str, Any]:
    return {
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat() if window.end else None,
    }
