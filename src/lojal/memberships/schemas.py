"""What the API reads and writes about plans, memberships and membership payments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from lojal.inputs import Time
from lojal.tiers.schemas import TierCode

PLAN_CODE_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"
PlanCode = Annotated[str, Field(pattern=PLAN_CODE_PATTERN, min_length=1, max_length=32)]
Interval = Literal["year", "month"]
MAX_MINOR = 10**15


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: PlanCode
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    price_minor: int = Field(ge=0, le=MAX_MINOR, description="the price per interval")
    currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="the club's currency (the default)"
    )
    interval: Interval = "year"
    tier: TierCode | None = Field(
        default=None,
        description="the tier the plan gives (a paid tier); null: the paid club membership only",
    )


class PlanUpdate(BaseModel):
    """Name, description and price can change; a new price applies to the payments after it.
    What a plan gives (its tier, interval, currency) cannot: create a new plan instead."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    price_minor: int | None = Field(default=None, ge=0, le=MAX_MINOR)


class PlanRead(BaseModel):
    code: str
    name: str
    description: str | None
    price_minor: int
    currency: str
    interval: str
    tier: str | None
    status: str
    created_at: datetime


class PaymentCreate(BaseModel):
    """A membership fee the shop's checkout took: it starts a membership on ``plan``, or renews
    the member's membership on it by one interval. ``reference`` is the payment's id in the
    shop (recording it again gives the first answer back)."""

    model_config = ConfigDict(extra="forbid")
    plan: PlanCode
    reference: str = Field(min_length=1, max_length=128)
    amount_minor: int = Field(ge=0, le=MAX_MINOR)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    paid_at: Time | None = Field(default=None, description="default: now")


class PaymentRead(BaseModel):
    id: int
    kind: str
    reference: str
    member_id: int
    plan: str | None
    amount_minor: int
    currency: str
    paid_at: datetime
    period_start: datetime | None
    period_end: datetime | None


class MembershipRead(BaseModel):
    id: int
    member_id: int
    plan: PlanRead
    status: Literal["active", "ended"]
    started_at: datetime
    renews_at: datetime = Field(description="the end of the paid period: renew by then")
    cancelled_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    payments: list[PaymentRead]


class PaymentRecorded(BaseModel):
    payment: PaymentRead
    membership: MembershipRead


class MemberMemberships(BaseModel):
    member_id: int
    active: MembershipRead | None
    history: list[MembershipRead] = Field(description="every membership, newest first")
