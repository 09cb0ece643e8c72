from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lojal.db.types import MAX_ID
from lojal.inputs import Attributes, Time

Channel = Literal["store", "web", "app", "api", "import"]
MAX_MINOR = 10**12
# A purchase's total is bounded so that points and sums stay far inside 64 bits.
MAX_PURCHASE_MINOR = 10**13


class MemberRef(BaseModel):
    """Who the activity belongs to: a member id or any identity. An identity that is not yet a
    member is kept, and the activity is credited when they enrol."""

    model_config = ConfigDict(extra="forbid")
    member_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    card_number: str | None = Field(default=None, max_length=40)
    external_id: str | None = Field(default=None, max_length=128)

    @model_validator(mode="after")
    def _someone(self) -> MemberRef:
        if not (self.member_id or self.email or self.phone or self.card_number or self.external_id):
            raise ValueError("give member_id or one of email, phone, card_number, external_id")
        return self


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=100)
    quantity: int = Field(default=1, gt=0, le=100_000)
    unit_price_minor: int = Field(ge=0, le=MAX_MINOR)
    # Defaults to quantity × unit price; give it when a line carries a discount.
    total_minor: int | None = Field(default=None, ge=0, le=MAX_MINOR)

    @property
    def amount(self) -> int:
        return (
            self.total_minor
            if self.total_minor is not None
            else (self.quantity * self.unit_price_minor)
        )


class PurchaseCreate(MemberRef):
    order_id: str = Field(min_length=1, max_length=128)
    channel: Channel = "store"
    store_id: str | None = Field(default=None, max_length=64)
    occurred_at: Time | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    lines: list[LineIn] = Field(min_length=1, max_length=1000)
    attributes: Attributes = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bounded_total(self) -> PurchaseCreate:
        if sum(line.amount for line in self.lines) > MAX_PURCHASE_MINOR:
            raise ValueError(f"the purchase total exceeds {MAX_PURCHASE_MINOR} minor units")
        return self


class ReturnLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line_no: int | None = Field(default=None, ge=1)
    sku: str | None = Field(default=None, max_length=64)
    quantity: int = Field(default=1, gt=0, le=100_000)

    @model_validator(mode="after")
    def _which_line(self) -> ReturnLineIn:
        if self.line_no is None and self.sku is None:
            raise ValueError("give line_no or sku")
        return self


class ReturnCreate(BaseModel):
    """A return of some lines of an order, or of all of it when ``lines`` is left out."""

    model_config = ConfigDict(extra="forbid")
    return_id: str = Field(min_length=1, max_length=128)
    order_id: str = Field(min_length=1, max_length=128)
    occurred_at: Time | None = None
    lines: list[ReturnLineIn] | None = Field(default=None, min_length=1, max_length=1000)


class EventCreate(MemberRef):
    event_id: str | None = Field(default=None, min_length=1, max_length=128)
    type: str = Field(pattern=r"^[a-z][a-z0-9_.]*$", max_length=64)
    channel: Channel | None = None
    occurred_at: Time | None = None
    properties: Attributes = Field(default_factory=dict)


class LineRead(BaseModel):
    line_no: int
    sku: str
    name: str | None
    category: str | None
    quantity: int
    unit_price_minor: int
    total_minor: int
    points: int


class PurchaseRead(BaseModel):
    id: int
    order_id: str
    member_id: int | None
    channel: str
    store_id: str | None
    occurred_at: datetime
    currency: str
    total_minor: int
    points: int
    explanation: str
    lines: list[LineRead]


class ReturnRead(BaseModel):
    id: int
    return_id: str
    order_id: str
    member_id: int | None
    occurred_at: datetime
    total_minor: int
    points_clawed_back: int
    points_unrecovered: int


class EventRead(BaseModel):
    id: int
    event_id: str
    member_id: int | None
    type: str
    occurred_at: datetime
    points: int
    explanation: str
