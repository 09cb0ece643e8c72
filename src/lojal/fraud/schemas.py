"""The programme file's ``fraud`` section, and the alerts as the API shows them. Pure: the
programme's schema (``lojal.program.schemas``) imports it.

Every limit is off unless the club sets it (``null``); the hold after an identity change and
the alert thresholds are on with generous defaults::

    fraud:
      spend_limits: {per_hour: {count: 5}, per_day: {count: 20, points: 50000}}
      earn_limits: {per_hour: {count: 10}, per_day: {points: 20000}}
      earn_review_days: 30        # how long points over an earn limit stay held
      identity_hold_hours: 24     # no spending for this long after an email or phone change
      alerts:
        enrolments_per_address: 20  # enrolments from one client address in a day
        adjustment_points: 10000    # a manual adjustment of at least this many points
        backdated_days: 30          # a live purchase dated more than this many days back
        referral_cluster: 5         # referees of one advocate enrolled from one address,
                                    # or sharing an email domain (not a common provider's)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_POINTS = 10**12
COMMON_EMAIL_DOMAINS = (
    "gmail.com",
    "googlemail.com",
    "hotmail.com",
    "hotmail.se",
    "outlook.com",
    "live.com",
    "live.se",
    "msn.com",
    "yahoo.com",
    "yahoo.se",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
    "telia.com",
    "gmx.com",
    "online.no",
    "suomi24.fi",
)


class Window(BaseModel):
    """At most ``count`` operations and ``points`` points in the window (each null: no limit)."""

    model_config = ConfigDict(extra="forbid")
    count: int | None = Field(default=None, ge=1, le=1_000_000)
    points: int | None = Field(default=None, ge=1, le=MAX_POINTS)

    @property
    def configured(self) -> bool:
        return self.count is not None or self.points is not None


class Velocity(BaseModel):
    """Limits per member over the last hour and the last 24 hours (rolling windows)."""

    model_config = ConfigDict(extra="forbid")
    per_hour: Window = Window()
    per_day: Window = Window()

    @property
    def configured(self) -> bool:
        return self.per_hour.configured or self.per_day.configured


class AlertThresholds(BaseModel):
    """When an alert is raised (null: never)."""

    model_config = ConfigDict(extra="forbid")
    enrolments_per_address: int | None = Field(default=20, ge=2, le=1_000_000)
    adjustment_points: int | None = Field(default=10_000, ge=1, le=MAX_POINTS)
    backdated_days: int | None = Field(default=30, ge=1, le=3650)
    referral_cluster: int | None = Field(default=5, ge=2, le=1_000_000)
    # mail providers whose addresses say nothing of who made them: referees sharing one of
    # these domains are no cluster
    common_email_domains: list[str] = Field(
        default_factory=lambda: list(COMMON_EMAIL_DOMAINS), max_length=1000
    )


class FraudConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spend_limits: Velocity = Velocity()
    earn_limits: Velocity = Velocity()
    earn_review_days: int = Field(default=30, ge=1, le=365)
    identity_hold_hours: int = Field(default=24, ge=0, le=24 * 90)
    alerts: AlertThresholds = AlertThresholds()


ALERT_KINDS = (
    "earn_velocity",
    "enrolments_per_address",
    "referral_ring",
    "referral_cluster",
    "large_adjustment",
    "backdated_purchase",
)
AlertKind = Literal[
    "earn_velocity",
    "enrolments_per_address",
    "referral_ring",
    "referral_cluster",
    "large_adjustment",
    "backdated_purchase",
]


class AlertRead(BaseModel):
    id: int
    kind: str
    member_id: int | None
    details: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class AlertPage(BaseModel):
    alerts: list[AlertRead]
    # the id to pass as ``before`` for the next (older) page; null on the last
    next_before: int | None


class Acknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # an earn_velocity alert: make the held points available at their usual time
    release: bool = False
    note: str | None = Field(default=None, max_length=500)
