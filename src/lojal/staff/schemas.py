from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lojal.inputs import Time

Kind = Literal["admin", "integration", "till", "app"]
Status = Literal["active", "expired", "revoked"]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    kind: Kind = Field(
        description="admin; integration (the web shop's server); till (one store's point of "
        "sale); app (a member app's publishable key)"
    )
    store_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="The till's store (tills only)"
    )
    expires_at: Time | None = Field(default=None, description="When the key stops working")


class ApiKeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlap_seconds: int = Field(
        default=86_400,
        ge=0,
        le=30 * 86_400,
        description="How long the current secret keeps working beside the new one (0: it "
        "stops now)",
    )


class ApiKeyRead(BaseModel):
    prefix: str = Field(description="The key's public id: the part after `lojal_`")
    name: str
    kind: str
    store_id: str | None
    status: Status
    created_at: datetime
    expires_at: datetime | None
    rotated_at: datetime | None
    previous_valid_until: datetime | None = Field(
        description="Until when the secret before the last rotation still works"
    )
    revoked_at: datetime | None


class ApiKeySecret(BaseModel):
    """A key as made or rotated: ``key`` is shown this once and never stored."""

    key: str
    api_key: ApiKeyRead
