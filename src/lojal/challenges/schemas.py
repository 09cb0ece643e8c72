"""Challenges as the marketer writes them (the admin API's body, a YAML file for the CLI), and
what the API answers.

A challenge is data::

    code: explorer
    name: Buy from 4 categories this quarter
    activity: purchase                       # or: event (with event_type)
    when: {field: purchase.channel, op: eq, value: store}
    goal: {kind: distinct, field: line.category, target: 4}
    window: {kind: calendar, period: quarter}
    tiers: [silver, gold]                    # optional: only members of these tiers
    repeatable: true                         # each completion starts a new attempt ...
    max_completions: 4                       # ... at most this many times
    reward: {points: 200, badge: explorer}

The goal's kinds: ``count`` (N matching activities), ``distinct`` (N distinct values of
``field`` among them), ``streak`` (a matching activity in each of N consecutive ``period``\\ s,
day/week/month in the club's time zone), ``sum`` (the ``field`` of matching activity adds up
to N; by default the money of the matching lines, or the purchase's total).

The window an attempt runs in: ``campaign`` (the default: the challenge's own ``starts_at`` ..
``ends_at``, open-ended if they are left out), ``calendar`` (the week, month, quarter or year
of the attempt's first activity, in the club's time zone) or ``rolling`` (``days`` from the
attempt's first activity). ``starts_at``/``ends_at`` bound every window; a date without a time
means midnight in the club's time zone, a time without an offset is UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from lojal.conditions.model import FIELD_PATTERN, Condition
from lojal.inputs import MAX_ID

CODE_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"
TIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]*$"
EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_.]*$"
URL_PATTERN = r"^https?://\S+$"
MAX_TARGET = 10**12
EARLIEST_YEAR, LATEST_YEAR = 1970, 2199

Activity = Literal["purchase", "event"]
GoalKind = Literal["count", "distinct", "streak", "sum"]
StreakPeriod = Literal["day", "week", "month"]
CalendarPeriod = Literal["week", "month", "quarter", "year"]
Status = Literal["draft", "active", "ended"]


def _parse_time(value: Any) -> Any:
    """``2026-03-01`` stays a date (local midnight, resolved with the club's time zone);
    other text is read as an ISO 8601 time."""
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                return value
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return value
    return value


def _bounded(value: date) -> date:
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # a time without an offset is UTC, as everywhere
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"the year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


# A time, or a date meaning midnight in the club's time zone.
CampaignTime = Annotated[datetime | date, BeforeValidator(_parse_time), AfterValidator(_bounded)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Goal(_Model):
    kind: GoalKind
    target: int = Field(ge=1, le=MAX_TARGET)
    # distinct: the field whose values are counted (required); sum: the field that is added
    # up (default: line.total_minor when the condition reads lines, else purchase.total_minor)
    field: str | None = Field(default=None, pattern=FIELD_PATTERN, max_length=200)
    # streak: the length of one period
    period: StreakPeriod | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> Goal:
        if self.kind == "distinct" and self.field is None:
            raise ValueError("a distinct goal needs the field whose values are counted")
        if self.kind in ("count", "streak") and self.field is not None:
            raise ValueError(f"a {self.kind} goal has no field")
        if self.kind == "streak" and self.period is None:
            raise ValueError("a streak goal needs a period: day, week or month")
        if self.kind != "streak" and self.period is not None:
            raise ValueError("only a streak goal has a period")
        return self


class Window(_Model):
    kind: Literal["campaign", "calendar", "rolling"] = "campaign"
    period: CalendarPeriod | None = None  # calendar
    days: int | None = Field(default=None, ge=1, le=3660)  # rolling

    @model_validator(mode="after")
    def _fits_kind(self) -> Window:
        if (self.kind == "calendar") != (self.period is not None):
            raise ValueError("a calendar window has a period (week, month, quarter, year)")
        if (self.kind == "rolling") != (self.days is not None):
            raise ValueError("a rolling window has a number of days")
        return self


class Reward(_Model):
    """What completing the challenge gives, in the transaction of the completing activity:
    points, a badge, and/or a coupon — a code of the coupon campaign ``coupon`` (its id),
    issued to the member (``coupons.service.issue_code``)."""

    points: int | None = Field(default=None, ge=1, le=10**9)
    badge: str | None = Field(default=None, pattern=CODE_PATTERN, max_length=64)
    coupon: int | None = Field(default=None, ge=1, le=MAX_ID, description="a coupon campaign's id")

    @model_validator(mode="after")
    def _something(self) -> Reward:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("a reward gives something: points, a badge or a coupon")
        return self


class ChallengeDefinition(_Model):
    code: str = Field(pattern=CODE_PATTERN, min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    image_url: str | None = Field(default=None, pattern=URL_PATTERN, max_length=500)
    activity: Activity = "purchase"
    # event challenges: the event type that counts (survey_answered, review_written, ...)
    event_type: str | None = Field(default=None, pattern=EVENT_TYPE_PATTERN, max_length=64)
    when: Condition | None = None
    goal: Goal
    window: Window = Window()
    starts_at: CampaignTime | None = None
    ends_at: CampaignTime | None = None
    tiers: list[Annotated[str, Field(pattern=TIER_PATTERN, max_length=32)]] | None = Field(
        default=None, min_length=1, max_length=50
    )
    repeatable: bool = False
    max_completions: int | None = Field(default=None, ge=1, le=10**6)
    reward: Reward


class ChallengeRead(ChallengeDefinition):
    id: int
    status: Status
    revision: int
    # When the challenge counts activity: from ``starts_at`` (or its activation) until
    # ``ends_at`` (or it is ended), in UTC.
    runs_from: datetime | None
    runs_until: datetime | None
    created_at: datetime
    updated_at: datetime
    activated_at: datetime | None
    ended_at: datetime | None


class ChallengeStats(BaseModel):
    code: str
    participants: int  # members with any counted activity
    in_progress: int  # members with an attempt under way
    members_completed: int  # members who completed it at least once
    completions: int
    points_awarded: int


class RewardRead(BaseModel):
    points: int | None
    badge: str | None
    coupon: int | None = None  # the coupon campaign, when the reward gives a coupon


class MemberChallengeRead(BaseModel):
    """A challenge as one member sees it: the goal, where they are, what they win."""

    code: str
    name: str
    description: str | None
    image_url: str | None
    activity: Activity
    event_type: str | None
    goal: GoalKind
    target: int
    # not_started: nothing counted yet in the current window; in_progress; completed: done for
    # now (a once challenge completed, the cap reached, or this calendar period completed)
    status: Literal["not_started", "in_progress", "completed"]
    progress: int  # count, distinct values, sum, or the longest streak of the current attempt
    # a sum of money: progress and target are minor units of this currency (else null)
    currency: str | None = None
    values: list[str] | None  # distinct: the values counted so far
    streak: int | None  # streak: the current run, 0 once broken
    streak_period: StreakPeriod | None
    window_start: datetime | None
    window_end: datetime | None
    ends_at: datetime | None  # when the challenge itself ends
    repeatable: bool
    max_completions: int | None
    completions: int
    last_completed_at: datetime | None
    # Completion and reward happen in one transaction: a completed attempt is a rewarded one.
    rewarded: bool
    reward: RewardRead


class MemberChallenges(BaseModel):
    member_id: int
    challenges: list[MemberChallengeRead]
