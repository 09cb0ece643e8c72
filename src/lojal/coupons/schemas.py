from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from lojal.coupons import codes
from lojal.inputs import MAX_ID, Time

Channel = Literal["store", "web", "app", "api", "import"]
OfferKind = Literal["amount", "percent", "product"]
MAX_MINOR = 10**12
MAX_BATCH = 1_000_000
PREFIX_PATTERN = f"^[{codes.ALPHABET}]{{0,6}}$"


def _public_code(value: str | None) -> str | None:
    if value is None:
        return None
    code = codes.normalise(value)
    if not 3 <= len(code) <= 32 or not code.isascii() or not code.isalnum():
        raise ValueError("a public code is 3-32 letters and digits (separators are ignored)")
    return code


def _hashtag(value: str | None) -> str | None:
    if value is None:
        return None
    tag = value.lstrip("#")
    if not tag or len(tag) > 99 or not all(ch.isalnum() or ch == "_" for ch in tag):
        raise ValueError("a hashtag is letters, digits and _ (the # is optional)")
    return "#" + tag


PublicCode = Annotated[str | None, AfterValidator(_public_code)]
Hashtag = Annotated[str | None, AfterValidator(_hashtag)]


class OfferIn(BaseModel):
    """What the coupon gives: a fixed amount, a percentage (optionally capped), or one unit of
    a product free; optionally only on some skus or categories, and from a minimum spend."""

    model_config = ConfigDict(extra="forbid")
    discount_kind: OfferKind
    amount_minor: int | None = Field(default=None, gt=0, le=MAX_MINOR)
    percent: int | None = Field(default=None, ge=1, le=100)
    max_discount_minor: int | None = Field(default=None, gt=0, le=MAX_MINOR)
    product_sku: str | None = Field(default=None, min_length=1, max_length=64)
    min_spend_minor: int | None = Field(default=None, ge=0, le=MAX_MINOR)
    skus: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=500
    )
    categories: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=100
    )

    @model_validator(mode="after")
    def _offer(self) -> OfferIn:
        if self.discount_kind == "amount" and self.amount_minor is None:
            raise ValueError("a discount of kind amount needs amount_minor")
        if self.discount_kind == "percent" and self.percent is None:
            raise ValueError("a discount of kind percent needs percent")
        if self.discount_kind == "product" and self.product_sku is None:
            raise ValueError("a discount of kind product needs product_sku")
        return self


class CampaignCreate(OfferIn):
    name: str = Field(min_length=1, max_length=200)
    hashtag: Hashtag = None
    description: str | None = Field(default=None, max_length=1000)
    valid_from: Time | None = None
    valid_until: Time | None = None
    # how often one code may be used: 1 (single use), N, or None (unlimited)
    uses_per_code: int | None = Field(default=1, ge=1, le=10**9)
    uses_per_member: int | None = Field(default=None, ge=1, le=10**6)
    channels: list[Channel] = Field(default_factory=list)
    stores: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=1000
    )
    restore_on_return: bool = False
    code_length: int = Field(default=10, ge=codes.MIN_LENGTH, le=codes.MAX_LENGTH)
    code_prefix: str = Field(default="", pattern=PREFIX_PATTERN)
    check_character: bool = True
    # one code for everyone, shared on social media (e.g. SUMMER26)
    public_code: PublicCode = None
    active: bool = True

    @model_validator(mode="after")
    def _window(self) -> CampaignCreate:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class CampaignUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    hashtag: Hashtag = None
    description: str | None = Field(default=None, max_length=1000)
    valid_from: Time | None = None
    valid_until: Time | None = None
    channels: list[Channel] | None = None
    stores: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=1000
    )
    restore_on_return: bool | None = None
    active: bool | None = None


class CampaignRead(BaseModel):
    id: int
    name: str
    hashtag: str | None
    description: str | None
    source: str
    discount_kind: str
    amount_minor: int | None
    percent: int | None
    max_discount_minor: int | None
    product_sku: str | None
    min_spend_minor: int | None
    skus: list[str]
    categories: list[str]
    valid_from: datetime | None
    valid_until: datetime | None
    uses_per_code: int | None
    uses_per_member: int | None
    channels: list[str]
    stores: list[str]
    restore_on_return: bool
    code_length: int
    code_prefix: str
    check_character: bool
    public_code: str | None
    possible_codes: int
    active: bool
    created_at: datetime


class BatchCreate(BaseModel):
    """Generate ``count`` codes under ``key``. Sending the same key again carries on where the
    batch is (each call writes at most a chunk) and changes nothing once it is complete."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:\-]+$")
    count: int = Field(ge=1, le=MAX_BATCH)


class BatchRead(BaseModel):
    campaign_id: int
    key: str
    requested: int
    generated: int
    done: bool


class IssueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    reference: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:\-]+$")


class CodeRead(BaseModel):
    code: str
    display: str
    campaign_id: int
    public: bool
    member_id: int | None
    uses: int
    held: int
    amount_minor: int | None
    issued_at: datetime
    expires_at: datetime | None


class CodePage(BaseModel):
    codes: list[CodeRead]
    next_after: int | None


class BasketLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    category: str | None = Field(default=None, max_length=100)
    quantity: int = Field(default=1, gt=0, le=100_000)
    # the line's total (quantity × unit price, less any line discount)
    amount_minor: int = Field(ge=0, le=MAX_MINOR)


class BasketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # defaults to the sum of the lines
    total_minor: int | None = Field(default=None, ge=0, le=10**13)
    lines: list[BasketLineIn] = Field(default_factory=list, max_length=1000)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")

    @model_validator(mode="after")
    def _total(self) -> BasketIn:
        if self.total_minor is None and not self.lines:
            raise ValueError("give total_minor or lines")
        return self

    @property
    def total(self) -> int:
        if self.total_minor is not None:
            return self.total_minor
        return sum(line.amount_minor for line in self.lines)


class Customer(BaseModel):
    """Who is buying, when known: a member id or any identity."""

    model_config = ConfigDict(extra="forbid")
    member_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    card_number: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    external_id: str | None = Field(default=None, max_length=128)


class CouponCheck(Customer):
    code: str = Field(min_length=1, max_length=64)
    basket: BasketIn
    channel: Channel = "store"
    store_id: str | None = Field(default=None, max_length=64)


class ReserveRequest(CouponCheck):
    reference: str = Field(min_length=1, max_length=128)
    ttl_seconds: int = Field(default=900, ge=30, le=7 * 86_400)


class CommitRequest(Customer):
    """Redeem a code on an order: the reservation ``reference`` made for the basket, or —
    without one — the basket itself (it is checked as a validation would)."""

    code: str = Field(min_length=1, max_length=64)
    order_id: str = Field(min_length=1, max_length=128)
    reference: str | None = Field(default=None, min_length=1, max_length=128)
    basket: BasketIn | None = None
    channel: Channel = "store"
    store_id: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _reserved_or_basket(self) -> CommitRequest:
        if self.reference is None and self.basket is None:
            raise ValueError("give the reservation's reference or the basket")
        return self


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=64)
    reference: str = Field(min_length=1, max_length=128)


class ValidationRead(BaseModel):
    code: str
    valid: bool
    # None when valid; else a stable reason code (UnknownCode, CouponExpired, ...)
    reason: str | None
    detail: str
    discount_minor: int
    campaign_id: int | None
    campaign_name: str | None
    hashtag: str | None
    uses_left: int | None


class RedemptionRead(BaseModel):
    id: int
    code: str
    campaign_id: int
    state: str
    reference: str | None
    order_id: str | None
    member_id: int | None
    discount_minor: int
    basket_total_minor: int
    expires_at: datetime | None
    redeemed_at: datetime | None


class CampaignReport(BaseModel):
    campaign_id: int
    name: str
    hashtag: str | None
    public_code: str | None
    codes_issued: int
    codes_used: int
    validations: int
    reservations_open: int
    redemptions: int
    restored: int
    discount_minor: int
    # the baskets' totals when the codes were redeemed, and the recorded orders' totals
    basket_total_minor: int
    orders_recorded: int
    orders_revenue_minor: int
