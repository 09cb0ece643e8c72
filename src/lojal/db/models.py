"""Every table, imported in one place so that Alembic and ``Base.metadata`` see them all."""

from lojal.activities.models import Event, Purchase, PurchaseLine, Return, ReturnLine
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
from lojal.program.models import Program
from lojal.rewards.models import PartnerCode, Reward, RewardRedemption
from lojal.rules.models import RuleAward
from lojal.staff.models import ApiKey
from lojal.web.models import IdempotencyRecord

__all__ = [
    "ApiKey",
    "Base",
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
    "MemberIdentity",
    "PartnerCode",
    "PointBalance",
    "PointLot",
    "Posting",
    "Program",
    "Purchase",
    "PurchaseLine",
    "Return",
    "ReturnLine",
    "Reward",
    "RewardRedemption",
    "RuleAward",
]
