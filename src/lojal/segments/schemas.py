from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lojal.segments.definition import Definition

CODE_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,63}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SegmentCreate(_In):
    code: str = Field(pattern=CODE_PATTERN, description="A short name, unique in the club")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    kind: Literal["dynamic", "static"] = "dynamic"
    definition: Definition | None = Field(
        None, description="Who is in a dynamic segment (see docs/segments.md)"
    )

    @model_validator(mode="after")
    def _kind_fits(self) -> SegmentCreate:
        if self.kind == "dynamic" and self.definition is None:
            raise ValueError("a dynamic segment needs a definition")
        if self.kind == "static" and self.definition is not None:
            raise ValueError("a static list has no definition: import its members")
        return self


class SegmentUpdate(_In):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    definition: Definition | None = None


class PreviewRequest(_In):
    definition: Definition
    sample: int = Field(10, ge=0, le=100, description="How many of the members to show")


class MemberBrief(BaseModel):
    member_id: int
    first_name: str | None
    last_name: str | None
    email: str | None
    tier: str | None


class PreviewRead(BaseModel):
    count: int
    sample: list[MemberBrief]
    reads: list[str] = Field(description="What the definition reads (what keeps it up to date)")
    at: datetime


class SegmentRead(BaseModel):
    id: int
    code: str
    name: str
    description: str | None
    kind: str
    definition: dict[str, Any] | None = Field(description="The definition as it was given")
    reads: list[str]
    size: int = Field(description="Members in the segment now")
    revision: int
    evaluated_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SegmentMemberRead(BaseModel):
    member_id: int
    entered_at: datetime


class SegmentMembersPage(BaseModel):
    items: list[SegmentMemberRead]
    next_after: int | None = Field(description="Pass as `after` for the next page")


class MemberSegmentRead(BaseModel):
    segment_id: int
    code: str
    name: str
    entered_at: datetime
    left_at: datetime | None = None


class ListImport(_In):
    csv: str = Field(
        description=(
            "CSV with a header naming one or more of: email, card, phone, customer_id, "
            "member_id; each row names one member (the first column given is used)"
        ),
        max_length=20_000_000,
    )
    replace: bool = Field(False, description="Make the list exactly the file (else: add)")


class ListImported(BaseModel):
    segment_id: int
    rows: int
    added: int
    removed: int
    already: int
    size: int


class SweepRead(BaseModel):
    segments: int
    entered: int
    left: int
