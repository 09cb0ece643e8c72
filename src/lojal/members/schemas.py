from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lojal.inputs import MAX_ID, Attributes, Day, Time

Channel = Literal["store", "web", "app", "api", "import"]
ConsentChannel = Literal["email", "sms", "push", "ads"]
IdentityKind = Literal["email", "phone", "card", "external_id"]


class ConsentGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: ConsentChannel
    granted: bool
    source: str = Field(default="api", min_length=1, max_length=64)


class MemberCreate(BaseModel):
    """Only the essentials: at least one of email, phone, card number or shop customer id."""

    model_config = ConfigDict(extra="forbid")
    channel: Channel = "api"
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    card_number: str | None = Field(default=None, max_length=40)
    external_id: str | None = Field(default=None, max_length=128)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    birth_date: Day | None = None
    locale: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    store_id: str | None = Field(default=None, max_length=64)
    attributes: Attributes = Field(default_factory=dict)
    consents: list[ConsentGrant] = Field(default_factory=list)
    enrolled_at: Time | None = None
    referral_code: str | None = Field(
        default=None,
        max_length=32,
        description="A friend's referral code: links the new member to the friend "
        "(an unknown code is refused)",
    )

    @model_validator(mode="after")
    def _one_identity(self) -> MemberCreate:
        if not (self.email or self.phone or self.card_number or self.external_id):
            raise ValueError("give at least one of email, phone, card_number or external_id")
        return self


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    external_id: str | None = Field(default=None, max_length=128)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    birth_date: Day | None = None
    locale: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    attributes: Attributes | None = None


class ConsentRead(BaseModel):
    granted: bool
    source: str
    recorded_at: datetime


class MemberRead(BaseModel):
    id: int
    status: str
    enrolment_channel: str
    enrolled_at: datetime
    email: str | None
    phone: str | None
    card_number: str | None
    external_id: str | None
    first_name: str | None
    last_name: str | None
    birth_date: date | None
    locale: str | None
    store_id: str | None
    attributes: dict[str, Any]
    consents: dict[str, ConsentRead]
    merged_into_id: int | None


class TillMemberRead(BaseModel):
    """The till's view of a member: enough to greet them at the counter and act for them, and
    nothing else — no email, phone, last name, birth date, address, attributes or consents."""

    id: int
    status: str
    first_name: str | None
    card_number: str | None
    locale: str | None
    handle: str = Field(
        description="Send it as the `Lojal-Member-Handle` header of this till's requests about "
        "this member (points, spending, rewards, coupons, consents)"
    )
    handle_expires_at: datetime


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_member_id: int = Field(gt=0, le=MAX_ID)
