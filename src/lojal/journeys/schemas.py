"""What the journeys' API and commands take and give."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class PolicyBody(BaseModel):
    """A channel's frequency cap (at most ``cap_messages`` marketing messages per member in
    ``cap_days`` days) and quiet hours (``HH:MM`` to ``HH:MM``, club time; may pass
    midnight). Fields left out are none."""

    model_config = ConfigDict(extra="forbid")

    cap_messages: int | None = Field(None, ge=1, le=1000)
    cap_days: int | None = Field(None, ge=1, le=365)
    quiet_from: str | None = Field(None, pattern=HHMM)
    quiet_until: str | None = Field(None, pattern=HHMM)

    @model_validator(mode="after")
    def _pairs(self) -> PolicyBody:
        if (self.cap_messages is None) != (self.cap_days is None):
            raise ValueError("a cap needs both cap_messages and cap_days")
        if (self.quiet_from is None) != (self.quiet_until is None):
            raise ValueError("quiet hours need both quiet_from and quiet_until")
        return self


class PolicyWrite(PolicyBody):
    channel: Literal["email", "sms", "push", "inbox"]


class PolicyRead(BaseModel):
    channel: str
    cap_messages: int | None
    cap_days: int | None
    quiet_from: str | None
    quiet_until: str | None
    updated_at: datetime


class ControlWrite(BaseModel):
    """The club's global control group: ``percent`` of the active members (0 to 10; 0 = no
    group) get no marketing message from any journey. ``drawn_on``: draw the buckets anew on
    that day (at most once a calendar month); a new percent is a new draw, today unless
    given. Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    percent: float | None = Field(None, allow_inf_nan=False)
    drawn_on: date | None = None


class ControlRead(BaseModel):
    """The global control group: its percent, the day its buckets were drawn and the first
    day they may be drawn again, and how many of the club's active members it is expected
    to hold."""

    percent: float
    drawn_on: date
    earliest_reshuffle: date
    active_members: int
    expected_members: int


class JourneyRead(BaseModel):
    id: int
    code: str
    name: str
    trigger: str
    enabled: bool
    holdout_percent: int
    revision: int
    definition: dict[str, Any]
    swept_on: str | None
    created_at: datetime
    updated_at: datetime


class GroupFigures(BaseModel):
    """Of the runs in one group (treated, or held out): how many, how many bought within
    the conversion window, how many purchases they made then and what they spent
    (``revenue_minor`` in minor units, ``revenue`` in major units of the club's currency)."""

    runs: int
    converted: int
    purchases: int
    revenue_minor: int
    revenue: float
    conversion_rate: float | None


class IntervalRead(BaseModel):
    low: float
    high: float


class ComparisonRead(BaseModel):
    """One measure in the two groups: ``difference`` = treated − held out with its
    interval, ``relative`` = treated / held out − 1 with its interval (None where it is
    undefined: a held-out figure of 0, or too few members for an interval)."""

    treated: float
    control: float
    difference: float
    difference_interval: IntervalRead | None
    relative: float | None
    relative_interval: IntervalRead | None


class LiftRead(BaseModel):
    """What the journey changed (``lojal.insight.lift``): the conversion rate (a difference
    in rate points, 0.02 = 2 points; Newcombe's interval), purchases and revenue per member
    (Welch's interval) of the treated runs against the held-out ones, and the incremental
    revenue of the treated runs, in major units of ``currency``."""

    confidence: float
    currency: str
    treated_members: int
    control_members: int
    conversion: ComparisonRead
    purchases: ComparisonRead
    revenue: ComparisonRead
    incremental_revenue: float
    incremental_revenue_interval: IntervalRead | None


class JourneyFigures(BaseModel):
    """A journey's figures: the runs and where they were placed, what its messages came to,
    and conversions — of the members it treated and of those held out (the journey's
    holdout and the club's global control group), with the lift (None until both groups
    have a member)."""

    journey_id: int
    code: str
    entered: int
    active: int
    held_out: int
    global_control: int
    exempt: int
    sent: int
    delivered: int
    suppressed: int
    failed: int
    queued: int
    opened: int
    clicked: int
    converted: int
    revenue_minor: int
    revenue: float
    currency: str
    treated: GroupFigures
    control: GroupFigures
    lift: LiftRead | None
    at: datetime


class JourneyRunRead(BaseModel):
    id: int
    journey_id: int
    journey: str
    member_id: int
    occasion: str
    cause: str
    state: str
    held_out: bool
    position: list[int]
    next_at: datetime | None
    history: list[dict[str, Any]]
    entered_at: datetime
    converts_until: datetime
    finished_at: datetime | None


class JourneySwept(BaseModel):
    journeys: int
    entered: int
