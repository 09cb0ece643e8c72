from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lojal.coupons.schemas import OfferIn
from lojal.inputs import Time

RewardKind = Literal["coupon", "product", "partner", "experience", "points_payment"]
Channel = Literal["store", "web", "app", "api", "import"]
TierCode = Annotated[str, Field(min_length=1, max_length=32)]
MAX_POINTS = 10**12


class RewardCreate(BaseModel):
    """A reward of the catalogue.

    * ``coupon``: ``coupon`` says the discount (amount or percent, optional minimum spend);
    * ``product``: ``product_sku`` is given free (a coupon for one unit);
    * ``partner``: a code from the reward's pool (import codes before it is redeemed);
    * ``experience``: an event or exclusive item; give it a ``stock``;
    * ``points_payment``: the member chooses how many points (``min_points``..``max_points``)
      and gets a coupon worth exactly that many points at the programme's ``point_value``.
    """

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    kind: RewardKind
    points_price: int | None = Field(default=None, ge=1, le=MAX_POINTS)
    valid_from: Time | None = None
    valid_until: Time | None = None
    stock: int | None = Field(default=None, ge=0, le=10**9)
    tiers: list[TierCode] = Field(default_factory=list, max_length=50)
    limit_per_member: int | None = Field(default=None, ge=1, le=10**6)
    coupon: OfferIn | None = None
    product_sku: str | None = Field(default=None, min_length=1, max_length=64)
    coupon_valid_days: int | None = Field(default=None, ge=1, le=3650)
    min_points: int | None = Field(default=None, ge=1, le=MAX_POINTS)
    max_points: int | None = Field(default=None, ge=1, le=MAX_POINTS)
    active: bool = True

    @model_validator(mode="after")
    def _kind(self) -> RewardCreate:
        if self.kind != "points_payment" and self.points_price is None:
            raise ValueError(f"a {self.kind} reward needs points_price")
        if self.kind == "points_payment" and self.points_price is not None:
            raise ValueError("a points_payment reward has no fixed points_price")
        if self.kind == "coupon" and (
            self.coupon is None or self.coupon.discount_kind == "product"
        ):
            raise ValueError("a coupon reward needs coupon with discount_kind amount or percent")
        if self.kind == "product" and self.product_sku is None:
            raise ValueError("a product reward needs product_sku")
        if self.kind != "coupon" and self.coupon is not None:
            raise ValueError("only a coupon reward takes coupon")
        if self.min_points and self.max_points and self.max_points < self.min_points:
            raise ValueError("max_points must be at least min_points")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class RewardUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    points_price: int | None = Field(default=None, ge=1, le=MAX_POINTS)
    valid_from: Time | None = None
    valid_until: Time | None = None
    stock: int | None = Field(default=None, ge=0, le=10**9)
    tiers: list[TierCode] | None = Field(default=None, max_length=50)
    limit_per_member: int | None = Field(default=None, ge=1, le=10**6)
    active: bool | None = None


class RewardRead(BaseModel):
    id: int
    code: str
    name: str
    description: str | None
    kind: str
    points_price: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    stock: int | None
    tiers: list[str]
    limit_per_member: int | None
    campaign_id: int | None
    coupon_valid_days: int | None
    min_points: int | None
    max_points: int | None
    partner_codes_left: int | None
    active: bool


class PartnerCodesImport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    codes: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=10_000
    )


class PartnerCodesImported(BaseModel):
    reward_id: int
    imported: int
    duplicates: int
    available: int


class RedeemRequest(BaseModel):
    """``reference``: the caller's id for this redemption (an order, a basket, an app action);
    redeeming again with it gives the first redemption back. Points as payment: give
    ``points`` or ``amount_minor`` (what the member wants to pay with points)."""

    model_config = ConfigDict(extra="forbid")
    reference: str | None = Field(default=None, min_length=1, max_length=100)
    channel: Channel = "app"
    points: int | None = Field(default=None, ge=1, le=MAX_POINTS)
    amount_minor: int | None = Field(default=None, ge=1, le=10**12)

    @model_validator(mode="after")
    def _one(self) -> RedeemRequest:
        if self.points is not None and self.amount_minor is not None:
            raise ValueError("give points or amount_minor, not both")
        return self


class IssuedCoupon(BaseModel):
    code: str
    display: str
    amount_minor: int | None
    expires_at: datetime | None


class RedemptionRead(BaseModel):
    id: int
    reward_id: int
    reward_code: str
    member_id: int
    points: int
    coupon: IssuedCoupon | None
    partner_code: str | None
    amount_minor: int | None
    created_at: datetime


class AffordableReward(BaseModel):
    reward_id: int
    code: str
    name: str
    kind: str
    points_price: int | None
    # points as payment: the most points the member can pay with now
    max_points: int | None
    stock: int | None
    valid_until: datetime | None
