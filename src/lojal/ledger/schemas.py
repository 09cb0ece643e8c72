from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SpendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: int = Field(gt=0, le=10**9)
    reason: str | None = Field(default=None, max_length=200)
    # The till's or shop's reference (receipt or order id): spending twice with the same
    # reference spends once.
    reference: str | None = Field(default=None, min_length=1, max_length=128)


class AdjustRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: int = Field(ge=-(10**9), le=10**9)
    reason: str = Field(min_length=1, max_length=200)
    reference: str | None = Field(default=None, min_length=1, max_length=128)


class LotRead(BaseModel):
    points: int
    state: str
    earned_at: datetime
    available_at: datetime
    expires_at: datetime | None


class PointsRead(BaseModel):
    member_id: int
    point_name: str
    available: int
    pending: int
    lifetime_earned: int
    lifetime_spent: int
    lifetime_expired: int
    # Open lots, soonest to expire first: what becomes available when, and what expires when.
    lots: list[LotRead]


class PostingRead(BaseModel):
    account: str
    amount: int
    lot_id: int | None


class EntryRead(BaseModel):
    id: int
    kind: str
    key: str
    effective_at: datetime
    recorded_at: datetime
    points: int
    explanation: str
    detail: dict[str, Any]
    postings: list[PostingRead]


class LedgerPage(BaseModel):
    entries: list[EntryRead]
    next_before: int | None
