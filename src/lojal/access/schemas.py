from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=1, max_length=320, description="The email the member typed")


class CodeRequested(BaseModel):
    """The same answer for any email: nobody learns from it who is a member."""

    sent: bool = Field(description="Always true: a code was emailed if the email is a member's")
    expires_in_seconds: int


class SessionOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=1, max_length=320)
    code: str = Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")


class SessionOpened(BaseModel):
    token: str = Field(
        description="The member session: send it as `Authorization: Bearer <token>`; it reaches "
        "this member's own data only. Shown this once."
    )
    member_id: int
    expires_at: datetime


class SessionClosed(BaseModel):
    signed_out: bool
