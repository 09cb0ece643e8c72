"""The programme file (``club.yaml``): everything a club decides, in one readable document."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lojal.fraud.schemas import FraudConfig
from lojal.i18n import minor_units
from lojal.referrals.schemas import ReferralConfig
from lojal.rules.facts import RuleSet
from lojal.rules.schemas import Rule
from lojal.tiers.schemas import TiersConfig, field_error, multiplier_rule_id


class ExpiryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    months: int | None = Field(default=None, ge=1, le=120)
    round_to_month_end: bool = False


class ProgramConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    timezone: str = "Europe/Stockholm"
    # Region for phone numbers given without a country code (ISO 3166 alpha-2).
    phone_region: str = Field(default="SE", pattern=r"^[A-Z]{2}$")
    point_name: str = Field(default="points", min_length=1, max_length=50)
    pending_days: int = Field(default=0, ge=0, le=365)
    # How many days back a till, web shop or app may date a purchase, return or event
    # (history comes through the admin import; see lojal.activities.dating).
    max_backdate_days: int = Field(default=3, ge=0, le=365)
    expiry: ExpiryPolicy = ExpiryPolicy()
    # What one point is worth in the currency's major unit (for the liability figure).
    point_value: Decimal = Field(default=Decimal("0.01"), ge=0, max_digits=18, decimal_places=6)
    multiplier_stacking: Literal["multiply", "add", "max"] = "multiply"
    rules: list[Rule] = Field(default_factory=list)
    referrals: ReferralConfig | None = None
    # Levels members climb (lojal.tiers); their multipliers join the rules (see ruleset()).
    tiers: TiersConfig | None = None
    # Velocity limits, the hold after an identity change, alert thresholds (lojal.fraud).
    fraud: FraudConfig = FraudConfig()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> ProgramConfig:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        reserved = {multiplier_rule_id(code) for code in self.tiers.codes} if self.tiers else set()
        for i, rule in enumerate(self.rules):
            if rule.id in reserved:
                raise field_error(
                    ("rules", i, "id"),
                    "reserved_rule_id",
                    f"rule id {rule.id!r} is the id of a tier's multiplier: rename the rule",
                    rule.id,
                )
        return self

    @property
    def minor_units(self) -> int:
        """Decimals of the currency's minor unit: amounts are integers of this unit."""
        return minor_units(self.currency)

    @cached_property
    def _ruleset(self) -> RuleSet:
        # Tier multipliers come last: they stack with the programme's own multipliers as
        # multiplier_stacking says, and read "×1.5 Gold" in the explanation.
        tier_rules = self.tiers.multiplier_rules() if self.tiers else []
        return RuleSet(
            rules=[*self.rules, *tier_rules],
            timezone=self.timezone,
            currency=self.currency,
            minor_units=self.minor_units,
            stacking=self.multiplier_stacking,
            point_name=self.point_name,
        )

    def ruleset(self) -> RuleSet:
        """The rules as the engine runs them: one object per configuration, so that what the
        engine prepares for a ruleset is prepared once."""
        return self._ruleset


class ProgramRead(BaseModel):
    version: int
    config: ProgramConfig
