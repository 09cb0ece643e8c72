from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lojal.webhooks.events import EVENT_TYPES


def known_types(types: list[str]) -> list[str]:
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event types {unknown}; there are {list(EVENT_TYPES)}")
    return sorted(set(types))


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000, pattern=r"^https?://", description="Where to POST")
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] = Field(
        default_factory=list, description="The types to send; empty: every type"
    )
    secret: str | None = Field(
        default=None, description="A whsec_ secret of your own; by default one is made"
    )

    @field_validator("event_types")
    @classmethod
    def _known(cls, types: list[str]) -> list[str]:
        return known_types(types)


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] | None = None
    active: bool | None = None

    @field_validator("event_types")
    @classmethod
    def _known(cls, types: list[str] | None) -> list[str] | None:
        return None if types is None else known_types(types)


class EndpointRead(BaseModel):
    id: int
    url: str
    description: str | None
    event_types: list[str]
    active: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class EndpointSecret(BaseModel):
    """The endpoint with its signing secrets (shown when made and when rotated)."""

    endpoint: EndpointRead
    secrets: list[str]


class Delivery(BaseModel):
    job_id: int
    webhook_id: str
    type: str
    state: str
    attempts: int
    next_try_at: datetime | None
    last_error: str | None
