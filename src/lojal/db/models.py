"""Every table, imported in one place so that Alembic and ``Base.metadata`` see them all."""

from lojal.activities.models import Event, Purchase, PurchaseLine, Return, ReturnLine
from lojal.badges.models import Badge, MemberBadge
from lojal.challenges.models import (
    Challenge,
    ChallengeCompletion,
    ChallengeFact,
    ChallengeProgress,
)
from lojal.coupons.models import (
    CouponAttempt,
    CouponBatch,
    CouponCampaign,
    CouponCampaignStats,
    CouponCode,
    CouponMemberUse,
    CouponRedemption,
)
from lojal.db.base import Base
from lojal.ledger.models import JournalEntry, PointBalance, PointLot, Posting
from lojal.members.models import Consent, Member, MemberIdentity
from lojal.memberships.models import Membership, MembershipPlan, RevenueRecord
from lojal.program.models import Program
from lojal.referrals.models import Referral, ReferralCode
from lojal.rewards.models import PartnerCode, Reward, RewardRedemption
from lojal.rules.models import RuleAward
from lojal.segments.models import Segment, SegmentMembership
from lojal.staff.models import ApiKey
from lojal.tiers.models import MemberTier, TierChange
from lojal.web.models import IdempotencyRecord

__all__ = [
    "ApiKey",
    "Badge",
    "Base",
    "Challenge",
    "ChallengeCompletion",
    "ChallengeFact",
    "ChallengeProgress",
    "Consent",
    "CouponAttempt",
    "CouponBatch",
    "CouponCampaign",
    "CouponCampaignStats",
    "CouponCode",
    "CouponMemberUse",
    "CouponRedemption",
    "Event",
    "IdempotencyRecord",
    "JournalEntry",
    "Member",
    "MemberBadge",
    "MemberIdentity",
    "MemberTier",
    "Membership",
    "MembershipPlan",
    "PartnerCode",
    "PointBalance",
    "PointLot",
    "Posting",
    "Program",
    "Purchase",
    "PurchaseLine",
    "Referral",
    "ReferralCode",
    "Return",
    "ReturnLine",
    "RevenueRecord",
    "Reward",
    "RewardRedemption",
    "RuleAward",
    "Segment",
    "SegmentMembership",
    "TierChange",
]
