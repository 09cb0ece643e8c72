"""What ``GET /members/{id}/summary`` returns. Every part carries its figures (for an app that
lays them out itself) and ``text``: a ready sentence in the member's language."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class PointsOnDate(BaseModel):
    """Points that change state on one day of the club's calendar."""

    points: int
    at: datetime = Field(description="the earliest moment of that day's lots")
    text: str


class PointsPart(BaseModel):
    point_name: str
    available: int
    pending: int
    lifetime_earned: int
    # Pending points by the day they become spendable, soonest first.
    becoming_available: list[PointsOnDate]
    # Points with an expiry date by the last day they can be used, soonest first (``at``:
    # when the first of them expire).
    expiring: list[PointsOnDate]
    text: str


class TierGoal(BaseModel):
    tier_code: str
    tier_name: str
    remaining: int = Field(description="spend (minor units) or points still needed")
    by: datetime | None = Field(description="the deadline (null: a rolling window)")
    text: str


class TierPart(BaseModel):
    code: str | None
    name: str | None
    perks: list[str]
    basis: str
    total: int = Field(description="spend (minor units) or points in the current window")
    next: TierGoal | None
    keep: TierGoal | None
    text: str


class RewardPart(BaseModel):
    reward_id: int
    code: str
    name: str
    kind: str
    points: int = Field(description="the price, or for points as payment the most usable now")
    valid_until: datetime | None
    text: str


class ChallengePart(BaseModel):
    code: str
    name: str
    status: str
    progress: int
    target: int
    ends_at: datetime | None
    text: str


class ReferralPart(BaseModel):
    code: str
    link: str
    text: str


class BadgePart(BaseModel):
    code: str
    name: str
    image_url: str | None
    times: int
    text: str


class RecommendationPart(BaseModel):
    """An item offered to the member (``insight.recommendations``), best first."""

    sku: str
    name: str
    kind: str = Field(description="buy_again, bought_together or popular")
    text: str


class MemberSummary(BaseModel):
    member_id: int
    language: str = Field(description="the language of the texts: sv, nb, fi or en")
    greeting: str
    as_of: datetime
    points: PointsPart
    tier: TierPart | None = Field(description="null when the club has no tiers")
    rewards: list[RewardPart] = Field(description="rewards the member can afford now")
    challenges: list[ChallengePart]
    referral: ReferralPart | None = Field(description="null when the club has no referrals")
    badges: list[BadgePart]
    recommendations: list[RecommendationPart] = Field(
        description="the member's next-best offer: items to buy again, that go with what "
        "they buy, or that the club buys"
    )
