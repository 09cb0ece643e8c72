"""Tiers in the programme file, and what the API reads and writes about a member's tier.

The programme's ``tiers`` section::

    tiers:
      basis: spend                 # spend (net of returns, minor units) or points (earned)
      period: rolling_12_months    # or calendar_year (in the club's time zone)
      downgrade:
        max_levels: 1              # at most one level down per review (null: any number)
        grace_days: 30             # keep the tier 30 days after a failed review
      levels:                      # lowest first; thresholds strictly increasing
        - {code: bronze, name: Bronze, threshold: 0}
        - code: silver
          name: Silver
          threshold: 500000        # 5,000.00 SEK in the window
          multiplier: 1.25         # ×1.25 on purchase points
          perks: [Free coffee refill]
        - {code: gold, name: Gold, threshold: 1500000, multiplier: 1.5,
           perks: [Free delivery, Early access to sales]}
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from lojal.conditions.model import Compare
from lojal.inputs import Time
from lojal.rules.schemas import MultiplierRule

TIER_CODE_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"
TierCode = Annotated[str, Field(pattern=TIER_CODE_PATTERN, min_length=1, max_length=32)]
Perk = Annotated[str, Field(min_length=1, max_length=200)]
Basis = Literal["spend", "points"]
PeriodKind = Literal["rolling_12_months", "calendar_year"]
# Why a member's tier changed (tier_changes.reason, and the tier_changed event's "reason").
REASONS = ("joined", "qualified", "period_end", "grace", "paid_membership", "lapse", "manual")
Reason = Literal["joined", "qualified", "period_end", "grace", "paid_membership", "lapse", "manual"]


def multiplier_rule_id(code: str) -> str:
    """The id of the earning rule that gives a tier its multiplier."""
    return f"tier_{code}"


class TierLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: TierCode
    name: str = Field(min_length=1, max_length=100)
    # Spend in minor units, or points, within the qualification window.
    threshold: int = Field(ge=0, le=10**15)
    # Purchase points are multiplied by this (1: no multiplier); it stacks with the
    # programme's other multipliers as ``multiplier_stacking`` says.
    multiplier: Decimal = Field(default=Decimal(1), ge=1, le=100, max_digits=8, decimal_places=4)
    perks: list[Perk] = Field(default_factory=list, max_length=50)


class DowngradePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # At most this many levels down per review; None: straight to what the member qualifies for.
    max_levels: int | None = Field(default=1, ge=1, le=20)
    grace_days: int = Field(default=0, ge=0, le=366)


def field_error(
    loc: tuple[str | int, ...], kind: str, message: str, value: object
) -> ValidationError:
    """A validation error at ``loc`` inside the field being validated, so that the programme's
    error names the exact field (``tiers.levels.2.threshold``)."""
    return ValidationError.from_exception_data(
        "TiersConfig",
        [InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)],
    )


class TiersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    basis: Basis = "spend"
    period: PeriodKind = "rolling_12_months"
    downgrade: DowngradePolicy = DowngradePolicy()
    levels: list[TierLevel] = Field(min_length=1, max_length=20)

    @field_validator("levels")
    @classmethod
    def _ordered(cls, levels: list[TierLevel]) -> list[TierLevel]:
        seen: dict[str, int] = {}
        for i, level in enumerate(levels):
            if level.code in seen:
                raise field_error(
                    (i, "code"),
                    "duplicate_tier",
                    f"tier code {level.code!r} is used twice (also levels.{seen[level.code]})",
                    level.code,
                )
            seen[level.code] = i
            if i and level.threshold <= levels[i - 1].threshold:
                raise field_error(
                    (i, "threshold"),
                    "threshold_order",
                    f"levels are listed lowest first: the threshold must be above the "
                    f"previous level's ({levels[i - 1].threshold})",
                    level.threshold,
                )
        return levels

    @property
    def codes(self) -> list[str]:
        return [level.code for level in self.levels]

    @property
    def thresholds(self) -> list[int]:
        return [level.threshold for level in self.levels]

    def rank(self, code: str | None) -> int:
        """A tier's rank (-1 for no tier, or a code the programme no longer has)."""
        if code is None:
            return -1
        for i, level in enumerate(self.levels):
            if level.code == code:
                return i
        return -1

    def level(self, code: str | None) -> TierLevel | None:
        rank = self.rank(code)
        return None if rank < 0 else self.levels[rank]

    @property
    def floor(self) -> int:
        """The rank every member has at least: the lowest tier when its threshold is 0."""
        return 0 if self.levels[0].threshold == 0 else -1

    def multiplier_rules(self) -> list[MultiplierRule]:
        """One multiplier rule per tier that has one: ``×1.5 Gold`` for members in it."""
        return [
            MultiplierRule(
                kind="multiplier",
                id=multiplier_rule_id(level.code),
                name=level.name,
                factor=level.multiplier,
                when=Compare(field="member.tier", op="eq", value=level.code),
            )
            for level in self.levels
            if level.multiplier > 1
        ]


# ------------------------------------------------------------------ API


class TierRead(BaseModel):
    code: str
    name: str
    threshold: int
    multiplier: Decimal
    perks: list[str]

    @classmethod
    def of(cls, level: TierLevel) -> TierRead:
        return cls(
            code=level.code,
            name=level.name,
            threshold=level.threshold,
            multiplier=level.multiplier,
            perks=list(level.perks),
        )


class TiersRead(BaseModel):
    """The club's tiers as a member sees them (lowest first)."""

    basis: Basis
    unit: str = Field(description="the currency (minor units) or the programme's point name")
    period: PeriodKind
    max_levels_down: int | None
    grace_days: int
    levels: list[TierRead]


class WindowRead(BaseModel):
    start: datetime
    end: datetime | None


class NextTier(BaseModel):
    tier: TierRead
    remaining: int = Field(description="spend (minor units) or points still needed in the window")


class KeepTier(BaseModel):
    """What keeps the member's qualified tier at its next review."""

    tier: TierRead
    review_at: datetime = Field(description="when the tier is reviewed (the period's end)")
    window: WindowRead
    total: int = Field(description="what counts for the review so far")
    remaining: int = Field(description="still needed by review_at to keep the tier")
    in_grace: bool


class PaidTier(BaseModel):
    tier: TierRead
    until: datetime | None


class TierProgress(BaseModel):
    member_id: int
    tier: TierRead | None = Field(description="the member's tier: the higher of qualified and paid")
    qualified_tier: TierRead | None
    paid: PaidTier | None
    basis: Basis
    unit: str
    period: PeriodKind
    window: WindowRead
    total: int = Field(description="spend (minor units) or points in the current window")
    next: NextTier | None
    keep: KeepTier | None


class TierChangeRead(BaseModel):
    id: int
    from_tier: str | None
    to_tier: str | None
    reason: str
    effective_at: datetime
    recorded_at: datetime
    detail: dict[str, object]


class TierHistoryPage(BaseModel):
    changes: list[TierChangeRead]
    next_before: int | None


class ManualTierChange(BaseModel):
    """A staff decision: put the member in ``tier`` (null: no tier) for a new tier period,
    or until ``until``, after which the tier is reviewed as usual."""

    model_config = ConfigDict(extra="forbid")
    tier: TierCode | None
    reason: str = Field(min_length=1, max_length=500)
    until: Time | None = None
