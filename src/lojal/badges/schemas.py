"""Badges: what the marketer defines and what a member's profile shows."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

CODE_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"
URL_PATTERN = r"^https?://\S+$"


class BadgeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=CODE_PATTERN, min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    image_url: str | None = Field(default=None, pattern=URL_PATTERN, max_length=500)


class BadgeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    image_url: str | None = Field(default=None, pattern=URL_PATTERN, max_length=500)


class BadgeRead(BaseModel):
    id: int
    code: str
    name: str
    description: str | None
    image_url: str | None
    created_at: datetime
    updated_at: datetime


class BadgeGrant(BaseModel):
    """Staff give a member a badge by hand (a grant of a badge already held changes nothing)."""

    model_config = ConfigDict(extra="forbid")
    badge: str = Field(pattern=CODE_PATTERN, min_length=1, max_length=64)


class MemberBadgeRead(BaseModel):
    code: str
    name: str
    description: str | None
    image_url: str | None
    times: int  # how often it was earned (a repeatable challenge can give it again)
    first_earned_at: datetime
    last_earned_at: datetime
    source: str  # challenge:<code> or staff:<key name>


class MemberBadges(BaseModel):
    member_id: int
    badges: list[MemberBadgeRead]
