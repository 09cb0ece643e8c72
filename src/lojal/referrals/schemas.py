"""Referrals in the programme file (``ReferralConfig``) and on the API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator

CapPeriod = Literal["day", "week", "month", "year", "lifetime"]
ReferralStatus = Literal["pending", "qualified", "rewarded", "refused", "capped", "voided"]
STATUSES: tuple[str, ...] = ("pending", "qualified", "rewarded", "refused", "capped", "voided")


class ReferralConfig(BaseModel):
    """The ``referrals`` section of the programme file::

        referrals:
          advocate_points: 500          # to the member who referred
          referee_points: 250           # to the friend who joined
          min_spend_minor: 20000        # a qualifying purchase is at least 200.00 (minor units)
          caps: {month: 5, year: 20}    # at most N rewarded referrals per advocate per period
          link_base_url: https://shop.example/join      # or https://shop.example/?ref={code}
          rewards_pending: true         # rewards appear as pending points at the purchase
          claim_days: 30                # a member may add a friend's code up to N days in

    Both are rewarded when the friend's first qualifying purchase has passed the programme's
    return window (``pending_days``)."""

    model_config = ConfigDict(extra="forbid")
    advocate_points: int = Field(ge=0, le=10**9)
    referee_points: int = Field(ge=0, le=10**9)
    min_spend_minor: int = Field(default=0, ge=0, le=10**12)
    caps: dict[CapPeriod, PositiveInt] = Field(default_factory=dict)
    link_base_url: str = Field(max_length=500)
    # True: the rewards are earned at the qualifying purchase as pending points, held until
    # the return window has passed. False: nothing shows until then.
    rewards_pending: bool = True
    # How long after enrolling a member may still be referred (later they were already a
    # member); also the limit for an enrolment dated in the past.
    claim_days: int = Field(default=30, ge=0, le=3650)

    @field_validator("link_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.replace("{code}", "CODE"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL, e.g. https://shop.example/join")
        if value.count("{code}") > 1:
            raise ValueError("may hold {code} once")
        return value


class ReferralClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    referral_code: str = Field(min_length=1, max_length=32, description="The friend's code")


class ReferralRead(BaseModel):
    id: int
    advocate_id: int
    referee_id: int
    code: str
    source: Literal["enrolment", "claim"]
    status: ReferralStatus
    reason: str | None = Field(
        description="Why a referral was refused (self_referral, already_member, "
        "existing_customer, advocate_closed, shared_email, shared_phone, shared_card, "
        "shared_address), capped (cap_<period>) or voided (returned)"
    )
    referred_at: datetime
    qualifying_order_id: str | None
    qualified_at: datetime | None
    matures_at: datetime | None = Field(description="When the return window of the purchase ends")
    rewarded_at: datetime | None
    voided_at: datetime | None
    advocate_points: int = Field(description="Points earned by the advocate so far")
    referee_points: int = Field(description="Points earned by the referee so far")


class ReferralCounts(BaseModel):
    pending: int = 0
    qualified: int = 0
    rewarded: int = 0
    refused: int = 0
    capped: int = 0
    voided: int = 0


class MemberReferralRead(BaseModel):
    """What a member sees on their "invite a friend" page."""

    member_id: int
    code: str
    link: str
    counts: ReferralCounts
    points_earned: int = Field(description="Points from referrals whose reward has matured")
    points_pending: int = Field(description="Points from referrals inside the return window")
    referred_by: ReferralRead | None = Field(description="How this member was referred, if so")


class ReferralPage(BaseModel):
    referrals: list[ReferralRead]
    next_before: int | None


class AdvocateFigures(BaseModel):
    referrals: int
    counts: ReferralCounts
    refused_by_reason: dict[str, int]
    advocate_points_given: int = Field(description="Matured rewards of the advocates")
    referee_points_given: int = Field(description="Matured rewards of the referees")
    points_pending: int = Field(description="Both sides, inside the return window")
    points_clawed_back: int = Field(description="Rewards taken back by returns (voided)")
    referee_purchases: int
    referee_revenue_minor: int = Field(
        description="What the referees spent since they were referred, less returns "
        "(refused referrals left out)"
    )


class AdvocateReport(AdvocateFigures):
    advocate_id: int


class ReferralReport(BaseModel):
    currency: str
    since: datetime | None
    until: datetime | None
    advocates: list[AdvocateReport]
    totals: AdvocateFigures
