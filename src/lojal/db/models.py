"""Every table, imported in one place so that Alembic and ``Base.metadata`` see them all.

Every session factory imports this module (``lojal.db.session``), so the audit trail's flush
hook (``lojal.audit.capture``) is installed here too: no entry point can forget it."""

from lojal.access.models import MemberSession, SignInCode
from lojal.activities.models import Event, Purchase, PurchaseLine, Return, ReturnLine
from lojal.audit import capture
from lojal.audit.models import AuditRecord
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
from lojal.fraud.models import FraudAlert
from lojal.insight.models import (
    InsightFit,
    MemberScore,
    RecommendationItem,
    RecommendationPair,
)
from lojal.journeys.models import (
    ChannelPolicy,
    Journey,
    JourneyControl,
    JourneyMessage,
    JourneyRun,
)
from lojal.ledger.models import JournalEntry, PointBalance, PointLot, Posting
from lojal.members.models import Consent, Member, MemberIdentity
from lojal.memberships.models import Membership, MembershipPlan, RevenueRecord
from lojal.messaging.models import ChannelPause, InboxItem, Message
from lojal.pages.models import PortalLink, PortalSession, SignInAttempt, StaffSession, StaffUser
from lojal.program.models import Program, ProgramVersion
from lojal.referrals.models import Referral, ReferralCode
from lojal.rewards.models import PartnerCode, Reward, RewardRedemption
from lojal.rules.models import RuleAward
from lojal.segments.models import Segment, SegmentMembership
from lojal.staff.models import AccessRevision, ApiKey
from lojal.tiers.models import MemberTier, TierChange
from lojal.web.models import IdempotencyRecord
from lojal.webhooks.models import WebhookEndpoint
from lojal.worker.models import Job

capture.install()

__all__ = [
    "AccessRevision",
    "ApiKey",
    "AuditRecord",
    "Badge",
    "Base",
    "Challenge",
    "ChallengeCompletion",
    "ChallengeFact",
    "ChallengeProgress",
    "ChannelPause",
    "ChannelPolicy",
    "Consent",
    "CouponAttempt",
    "CouponBatch",
    "CouponCampaign",
    "CouponCampaignStats",
    "CouponCode",
    "CouponMemberUse",
    "CouponRedemption",
    "Event",
    "FraudAlert",
    "IdempotencyRecord",
    "InboxItem",
    "InsightFit",
    "Job",
    "JournalEntry",
    "Journey",
    "JourneyControl",
    "JourneyMessage",
    "JourneyRun",
    "Member",
    "MemberBadge",
    "MemberIdentity",
    "MemberScore",
    "MemberSession",
    "MemberTier",
    "Membership",
    "MembershipPlan",
    "Message",
    "PartnerCode",
    "PointBalance",
    "PointLot",
    "PortalLink",
    "PortalSession",
    "Posting",
    "Program",
    "ProgramVersion",
    "Purchase",
    "PurchaseLine",
    "RecommendationItem",
    "RecommendationPair",
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
    "SignInAttempt",
    "SignInCode",
    "StaffSession",
    "StaffUser",
    "TierChange",
    "WebhookEndpoint",
]
