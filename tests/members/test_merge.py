"""A merge loses nothing of any feature: one test per member-scoped feature, on both
databases. (Identities, activity and points: tests/members/test_api.py and
tests/ledger/test_service.py.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal import enrolment
from lojal.activities.models import Event
from lojal.badges import service as badges
from lojal.clock import FixedClock
from lojal.coupons import queries as coupon_queries
from lojal.coupons.models import CouponCode, CouponMemberUse
from lojal.ledger import queries as ledger_queries
from lojal.members import merging
from lojal.members import service as members
from lojal.members.schemas import MemberCreate
from lojal.memberships import service as memberships
from lojal.memberships.models import Membership, RevenueRecord
from lojal.memberships.schemas import PaymentCreate, PlanCreate
from lojal.program.schemas import ProgramConfig
from lojal.referrals import service as referrals
from lojal.referrals.models import Referral
from lojal.rewards.models import RewardRedemption
from lojal.tiers import queries as tiers
from lojal.tiers.models import MemberTier
from tests.challenges.helpers import completions, define, make_badge, standing
from tests.conftest import apply_program
from tests.factories import make_member, make_purchase, member_payload
from tests.rewards.helpers import member_with, redeem, reward
from tests.tiers.club import GOLD, SILVER, amount, apply_tiers
from tests.tiers.club import tiers as tier_config


def _merge(session: Session, clock: FixedClock, into: int, gone: int) -> dict[str, Any]:
    merged = merging.merge(session, into_id=into, from_id=gone, now=clock.now())
    session.flush()
    return dict(merged.moved)


def _buy(session: Session, clock: FixedClock, member_id: int, minor: int) -> None:
    make_purchase(session, clock, member_id=member_id, lines=[amount(minor)])


# ---------------------------------------------------------------- tiers


def test_the_target_keeps_the_higher_tier(session: Session, clock: FixedClock) -> None:
    apply_tiers(session, clock.now())
    kept, gone = make_member(session, clock), make_member(session, clock)
    _buy(session, clock, gone.id, GOLD)
    assert members.get(session, gone.id).tier == "gold"
    assert members.get(session, kept.id).tier == "bronze"

    moved = _merge(session, clock, kept.id, gone.id)

    assert members.get(session, kept.id).tier == "gold"
    progress = tiers.progress(session, member_id=kept.id, now=clock.now())
    assert progress.qualified_tier is not None
    assert progress.qualified_tier.code == "gold"
    assert progress.total == GOLD
    # the merged member's tier is no longer reviewed
    row = session.get(MemberTier, gone.id)
    assert row is not None
    assert row.review_at is None
    assert moved["tier"]["tier"] == "gold"


def test_two_halves_that_together_reach_a_tier_lift_it_at_once(
    session: Session, clock: FixedClock
) -> None:
    apply_tiers(session, clock.now())
    kept, gone = make_member(session, clock), make_member(session, clock)
    _buy(session, clock, kept.id, SILVER)
    _buy(session, clock, gone.id, GOLD - SILVER)
    assert members.get(session, kept.id).tier == "silver"

    _merge(session, clock, kept.id, gone.id)

    assert members.get(session, kept.id).tier == "gold"


def test_points_earned_by_a_merged_member_count_for_the_tier(
    session: Session, clock: FixedClock
) -> None:
    levels = [
        {"code": "bronze", "name": "Bronze", "threshold": 0},
        {"code": "silver", "name": "Silver", "threshold": 1_000},
        {"code": "gold", "name": "Gold", "threshold": 3_000},
    ]
    apply_program(session, clock.now(), tiers=tier_config(basis="points", levels=levels))
    kept, gone = make_member(session, clock), make_member(session, clock)
    _buy(session, clock, kept.id, 150_000)  # 1,500 points
    _buy(session, clock, gone.id, 100_000)  # 1,000 points
    _merge(session, clock, kept.id, gone.id)
    assert tiers.progress(session, member_id=kept.id, now=clock.now()).total == 2_500

    clock.advance(timedelta(days=1))
    _buy(session, clock, kept.id, 50_000)  # 500 more: 3,000 together

    assert members.get(session, kept.id).tier == "gold"


# ---------------------------------------------------------------- paid membership


def _plan(session: Session, clock: FixedClock, code: str, tier: str | None = None) -> None:
    memberships.create_plan(
        session,
        data=PlanCreate(code=code, name=code.title(), price_minor=49_900, tier=tier),
        now=clock.now(),
    )


def _pay(session: Session, clock: FixedClock, member_id: int, plan: str, ref: str) -> None:
    memberships.record_payment(
        session,
        member_id=member_id,
        data=PaymentCreate(plan=plan, reference=ref, amount_minor=49_900, currency="SEK"),
        now=clock.now(),
    )


def test_a_merged_members_membership_and_payments_move(session: Session, clock: FixedClock) -> None:
    apply_tiers(session, clock.now())
    _plan(session, clock, "plus", tier="gold")
    kept, gone = make_member(session, clock), make_member(session, clock)
    _pay(session, clock, gone.id, "plus", "pay-1")

    moved = _merge(session, clock, kept.id, gone.id)

    mine = memberships.of_member(session, member_id=kept.id)
    assert mine.active is not None
    assert mine.active.plan.code == "plus"
    assert [p.reference for p in mine.active.payments] == ["pay-1"]
    assert members.get(session, kept.id).tier == "gold"  # the paid tier came along
    assert moved["membership"]["memberships"] == 1


def test_of_two_active_memberships_the_longer_one_carries_on(
    session: Session, clock: FixedClock
) -> None:
    apply_tiers(session, clock.now())
    _plan(session, clock, "plus", tier="gold")
    _plan(session, clock, "basic")
    kept, gone = make_member(session, clock), make_member(session, clock)
    _pay(session, clock, kept.id, "basic", "pay-1")
    clock.advance(timedelta(days=30))
    _pay(session, clock, gone.id, "plus", "pay-2")  # renews a month later

    _merge(session, clock, kept.id, gone.id)

    rows = list(session.scalars(select(Membership).where(Membership.member_id == kept.id)))
    assert len(rows) == 2
    active = [m for m in rows if m.status == "active"]
    assert len(active) == 1
    assert active[0].renews_at > clock.now() + timedelta(days=330)
    ended = next(m for m in rows if m.status == "ended")
    assert ended.ended_at == clock.now()
    fees = session.scalars(select(RevenueRecord).where(RevenueRecord.member_id == kept.id))
    assert sorted(r.reference for r in fees) == ["pay-1", "pay-2"]
    assert members.get(session, kept.id).tier == "gold"
    event = session.scalar(select(Event).where(Event.event_id == f"membership_ended:{ended.id}"))
    assert event is not None
    assert event.properties["reason"] == "merged"


# ---------------------------------------------------------------- referrals


REFERRALS = {
    "advocate_points": 500,
    "referee_points": 250,
    "min_spend_minor": 20_000,
    "link_base_url": "https://shop.example/join",
}


def _enrol(session: Session, clock: FixedClock, code: str | None = None) -> int:
    data = MemberCreate.model_validate(member_payload(referral_code=code))
    return enrolment.enrol(session, data=data, now=clock.now()).id


def _code(session: Session, clock: FixedClock, member_id: int) -> str:
    return referrals.ensure_codes(session, member_ids=[member_id], now=clock.now())[member_id]


def test_referrals_and_codes_move_to_the_target(session: Session, clock: FixedClock) -> None:
    apply_program(session, clock.now(), referrals=REFERRALS)
    referrer = _enrol(session, clock)
    kept = _enrol(session, clock)
    gone = _enrol(session, clock, _code(session, clock, referrer))
    friend = _enrol(session, clock, _code(session, clock, gone))
    old_code = _code(session, clock, gone)

    moved = _merge(session, clock, kept, gone)

    page = referrals.member_referral(session, member_id=kept, now=clock.now())
    assert page.counts.pending == 1  # the friend gone referred counts for kept
    assert page.referred_by is not None  # and so does who referred gone
    assert page.referred_by.advocate_id == referrer
    assert moved["referrals"] == {"as_advocate": 1, "as_referee": page.referred_by.id}
    later = _enrol(session, clock, old_code)  # the old link still works, for kept
    referral = session.scalar(select(Referral).where(Referral.referee_id == later))
    assert referral is not None
    assert (referral.advocate_id, referral.status) == (kept, "pending")
    del friend


def test_a_merge_that_joins_a_referral_with_itself_rewards_nothing(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    apply_program(session, clock.now(), referrals=REFERRALS)
    advocate = _enrol(session, clock)
    second = _enrol(session, clock, _code(session, clock, advocate))  # the same person
    make_purchase(session, clock, member_id=second, lines=[amount(30_000)])
    referral = session.scalar(select(Referral).where(Referral.referee_id == second))
    assert referral is not None
    assert referral.status == "qualified"
    assert ledger_queries.balance(session, advocate).pending > 0

    moved = _merge(session, clock, advocate, second)

    session.refresh(referral)
    assert referral.status == "voided"
    assert referral.reason == "self_referral"
    # only the purchase's own points are left: 300 SEK, 1 point each
    balance = ledger_queries.balance(session, advocate)
    assert balance.pending + balance.available == 300
    assert moved["referrals"]["voided"] == [referral.id]


def test_a_pending_self_referral_is_refused(session: Session, clock: FixedClock) -> None:
    apply_program(session, clock.now(), referrals=REFERRALS)
    advocate = _enrol(session, clock)
    second = _enrol(session, clock, _code(session, clock, advocate))

    _merge(session, clock, second, advocate)

    referral = session.scalar(select(Referral).where(Referral.referee_id == second))
    assert referral is not None
    assert (referral.advocate_id, referral.status) == (second, "refused")
    assert referral.reason == "self_referral"


# ---------------------------------------------------------------- challenges and badges


def test_challenge_progress_is_added_up_and_completes_once(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    badge = make_badge(session, clock.now())
    challenge = define(session, clock.now(), reward={"points": 100, "badge": badge})
    kept, gone = make_member(session, clock), make_member(session, clock)
    for member_id in (kept.id, kept.id, gone.id):
        clock.advance(timedelta(hours=1))
        _buy(session, clock, member_id, 10_000)
    assert standing(session, kept.id, challenge.code, clock.now()).progress == 2

    moved = _merge(session, clock, kept.id, gone.id)

    assert completions(session, kept.id, challenge.id) == 1
    assert standing(session, kept.id, challenge.code, clock.now()).status == "completed"
    assert [b.code for b in badges.badges_of(session, member_id=kept.id)] == [badge]
    assert moved["challenges"]["completed"] == [challenge.id]
    # a fourth purchase does not complete it again (it could be completed once)
    _buy(session, clock, kept.id, 10_000)
    assert completions(session, kept.id, challenge.id) == 1


def test_challenges_completed_on_both_cards_are_not_rewarded_again(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    challenge = define(session, clock.now(), goal={"kind": "count", "target": 1})
    kept, gone = make_member(session, clock), make_member(session, clock)
    _buy(session, clock, kept.id, 10_000)
    _buy(session, clock, gone.id, 10_000)
    only_gone = define(session, clock.now(), goal={"kind": "count", "target": 2})
    _buy(session, clock, gone.id, 10_000)
    before = (
        ledger_queries.balance(session, kept.id).pending
        + ledger_queries.balance(session, gone.id).pending
    )

    _merge(session, clock, kept.id, gone.id)

    assert completions(session, kept.id, challenge.id) == 2  # both kept, as history
    assert ledger_queries.balance(session, kept.id).pending == before  # no new reward
    assert standing(session, kept.id, only_gone.code, clock.now()).progress == 1


def test_badges_are_the_union_without_duplicates(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    both, theirs = make_badge(session, clock.now()), make_badge(session, clock.now())
    kept, gone = make_member(session, clock), make_member(session, clock)
    badges.grant(session, member_id=kept.id, code=both, actor="staff", now=clock.now())
    badges.grant(session, member_id=gone.id, code=both, actor="staff", now=clock.now())
    badges.grant(session, member_id=gone.id, code=theirs, actor="staff", now=clock.now())

    _merge(session, clock, kept.id, gone.id)

    held = {b.code: b.times for b in badges.badges_of(session, member_id=kept.id)}
    assert held == {both: 2, theirs: 1}


# ---------------------------------------------------------------- coupons and rewards


def test_issued_coupons_and_reward_redemptions_move(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    kept = make_member(session, clock)
    gone = member_with(session, clock, program, 500)
    prize = reward(session, clock)
    redemption = redeem(session, clock, prize, gone)
    code_id = redemption.coupon_code_id
    assert code_id is not None

    moved = _merge(session, clock, kept.id, gone.id)

    code = session.get(CouponCode, code_id)
    assert code is not None
    assert code.member_id == kept.id
    mine = session.scalars(select(RewardRedemption).where(RewardRedemption.member_id == kept.id))
    assert [r.id for r in mine] == [redemption.id]
    assert [c.code for c in coupon_queries.member_codes(session, kept.id)] == [code.code]
    assert moved["rewards"] == {"redemptions": 1}


def test_per_member_coupon_uses_are_added_up(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    from tests.coupons.helpers import campaign

    offer = campaign(session, clock, uses_per_member=5)
    kept, gone = make_member(session, clock), make_member(session, clock)
    session.add_all(
        [
            CouponMemberUse(campaign_id=offer.id, member_id=kept.id, uses=1, held=0),
            CouponMemberUse(campaign_id=offer.id, member_id=gone.id, uses=2, held=1),
        ]
    )
    session.flush()

    _merge(session, clock, kept.id, gone.id)

    rows = session.scalars(select(CouponMemberUse).where(CouponMemberUse.campaign_id == offer.id))
    assert [(r.member_id, r.uses, r.held) for r in rows] == [(kept.id, 3, 1)]


# ---------------------------------------------------------------- the record of the merge


def test_the_merge_event_lists_what_moved(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    kept, gone = make_member(session, clock), make_member(session, clock)
    _buy(session, clock, gone.id, 10_000)

    _merge(session, clock, kept.id, gone.id)

    event = session.scalar(select(Event).where(Event.event_id == f"member_merged:{gone.id}"))
    assert event is not None
    assert event.member_id == kept.id
    assert event.properties["from_member_id"] == gone.id
    moved = event.properties["moved"]
    assert moved["activity"] == {"purchases": 1}
    assert moved["points"]["points"] == 100
    assert moved["members"]["identities"] == 2  # email and card
