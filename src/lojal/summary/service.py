"""Assemble a member's summary from the features that own each part. Nothing here decides a
business rule: points come from the ledger, tier progress from ``lojal.tiers``, challenges
from ``lojal.challenges``, the referral link from ``lojal.referrals`` (which issues a code on
first use, so the summary runs on the write path), badges from ``lojal.badges``. This module
only picks the member's language and says each part as a sentence in it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from lojal.badges import service as badges
from lojal.challenges import service as challenges
from lojal.challenges.schemas import MemberChallengeRead
from lojal.i18n import Texts, language_of, texts
from lojal.insight import recommendations
from lojal.insight.schemas import RecommendationRead
from lojal.ledger import queries as ledger_queries
from lojal.members import service as members
from lojal.members.models import Member
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.referrals import service as referrals
from lojal.rewards import service as rewards
from lojal.rewards.schemas import AffordableReward
from lojal.summary.schemas import (
    BadgePart,
    ChallengePart,
    MemberSummary,
    PointsOnDate,
    PointsPart,
    RecommendationPart,
    ReferralPart,
    RewardPart,
    TierGoal,
    TierPart,
)
from lojal.tiers import levels as tiers
from lojal.tiers import queries as tier_queries
from lojal.tiers.schemas import TierProgress

TICK = timedelta(microseconds=1)
# At most this many days are listed for points on the way and points expiring.
DAYS_SHOWN = 5
# Items offered in the summary.
RECOMMENDED = 3


def summary(
    session: Session, *, member_id: int, now: datetime, locale: str | None = None
) -> MemberSummary:
    """The summary of a member (following merges to the member that carries on), in
    ``locale``'s language when given, else the member's, else the club's."""
    member = members.resolve(session, members.get(session, member_id))
    config = program_service.current(session)
    t = texts(language_of(locale or member.locale, club_timezone=config.timezone))
    return MemberSummary(
        member_id=member.id,
        language=t.language,
        greeting=_greeting(t, member),
        as_of=now,
        points=_points(session, t, config, member.id, now),
        tier=_tier(session, t, config, member.id, now),
        rewards=[
            _reward(t, config, r) for r in rewards.affordable(session, member_id=member.id, now=now)
        ],
        challenges=[
            _challenge(t, config, c)
            for c in challenges.active_for_member(session, member_id=member.id, now=now)
        ],
        referral=_referral(session, t, member, now),
        badges=[
            BadgePart(
                code=b.code,
                name=b.name,
                image_url=b.image_url,
                times=b.times,
                text=t(
                    "{name}, earned {date}",
                    name=b.name,
                    date=t.date(b.first_earned_at, config.timezone),
                )
                if b.times == 1
                else t.plural(
                    "{name}, earned {n} time", "{name}, earned {n} times", b.times, name=b.name
                ),
            )
            for b in badges.badges_of(session, member_id=member.id)
        ],
        recommendations=[
            _recommendation(t, r)
            for r in recommendations.for_member(
                session, member_id=member.id, now=now, k=RECOMMENDED
            ).items
        ],
    )


def _greeting(t: Texts, member: Member) -> str:
    if member.first_name:
        return t("Hello {name}!", name=member.first_name)
    return t("Hello!")


def _points(
    session: Session, t: Texts, config: ProgramConfig, member_id: int, now: datetime
) -> PointsPart:
    # as of now: points past their pending period count as available, expired ones are gone,
    # whether or not the job has written their entries yet
    balance = ledger_queries.balance_now(session, member_id, now=now, with_lots=True)
    lots = balance.lots
    name = config.point_name
    zone = ZoneInfo(config.timezone)
    becoming = _by_day(
        ((lot.available_from, lot.remaining) for lot in lots if lot.state == "pending"), zone
    )
    # Points expiring at midnight can be used through the day before: group and show lots
    # by their last moment.
    expiring = _by_day(
        ((lot.expires_at - TICK, lot.remaining) for lot in lots if lot.expires_at is not None),
        zone,
    )
    text = t(
        "You have {points} {point_name} to spend.",
        points=t.number(balance.available),
        point_name=name,
    )
    if balance.pending:
        text += " " + t(
            "{points} {point_name} are on their way.",
            points=t.number(balance.pending),
            point_name=name,
        )
    return PointsPart(
        point_name=name,
        available=balance.available,
        pending=balance.pending,
        lifetime_earned=balance.lifetime_earned,
        becoming_available=[
            PointsOnDate(
                points=points,
                at=at,
                text=t(
                    "{points} {point_name} can be spent from {date}",
                    points=t.number(points),
                    point_name=name,
                    date=t.date(at, config.timezone),
                ),
            )
            for at, points in becoming
        ],
        expiring=[
            PointsOnDate(
                points=points,
                at=at + TICK,
                text=t(
                    "{points} {point_name} can be used until {date}",
                    points=t.number(points),
                    point_name=name,
                    date=t.date(at, config.timezone),
                ),
            )
            for at, points in expiring
        ],
        text=text,
    )


def _by_day(
    lots: Iterable[tuple[datetime | None, int]], zone: ZoneInfo
) -> list[tuple[datetime, int]]:
    """Points summed per local day, the day's earliest moment first, soonest days first."""
    days: dict[date, tuple[datetime, int]] = {}
    for at, points in lots:
        if at is None or points <= 0:
            continue
        day = at.astimezone(zone).date()
        first, total = days.get(day, (at, 0))
        days[day] = (min(first, at), total + points)
    return [days[day] for day in sorted(days)][:DAYS_SHOWN]


def _tier(
    session: Session, t: Texts, config: ProgramConfig, member_id: int, now: datetime
) -> TierPart | None:
    if tiers.configured(session) is None:
        return None
    progress = tier_queries.progress(session, member_id=member_id, now=now)
    tier = progress.tier
    next_goal = keep_goal = None
    if progress.next is not None:
        by = progress.window.end if progress.period == "calendar_year" else None
        goal = progress.next
        next_goal = TierGoal(
            tier_code=goal.tier.code,
            tier_name=goal.tier.name,
            remaining=goal.remaining,
            by=by,
            text=_needed(t, config, progress, goal.remaining, goal.tier.name, by, keep=False),
        )
    if progress.keep is not None:
        keep = progress.keep
        keep_goal = TierGoal(
            tier_code=keep.tier.code,
            tier_name=keep.tier.name,
            remaining=keep.remaining,
            by=keep.review_at,
            text=_needed(
                t, config, progress, keep.remaining, keep.tier.name, keep.review_at, keep=True
            ),
        )
    text = (
        t("Your tier is {tier}.", tier=tier.name)
        if tier is not None
        else t("You have no tier yet.")
    )
    if next_goal is not None:
        text += " " + next_goal.text
    return TierPart(
        code=tier.code if tier else None,
        name=tier.name if tier else None,
        perks=list(tier.perks) if tier else [],
        basis=progress.basis,
        total=progress.total,
        next=next_goal,
        keep=keep_goal,
        text=text,
    )


def _needed(
    t: Texts,
    config: ProgramConfig,
    progress: TierProgress,
    remaining: int,
    tier: str,
    by: datetime | None,
    *,
    keep: bool,
) -> str:
    if remaining <= 0:
        return t("You have done what keeps {tier}.", tier=tier) if keep else ""
    if progress.basis == "spend":
        amount = t.money(remaining, config.currency)
    else:
        amount = f"{t.number(remaining)} {config.point_name}"
    if by is None:
        if keep:
            return t("{amount} more keeps {tier}.", amount=amount, tier=tier)
        return t("{amount} more takes you to {tier}.", amount=amount, tier=tier)
    date = t.date(by, config.timezone)
    if keep:
        return t("{amount} more before {date} keeps {tier}.", amount=amount, date=date, tier=tier)
    return t(
        "{amount} more before {date} takes you to {tier}.", amount=amount, date=date, tier=tier
    )


def _reward(t: Texts, config: ProgramConfig, r: AffordableReward) -> RewardPart:
    name = config.point_name
    if r.kind == "points_payment" or r.points_price is None:
        points = r.max_points or 0
        text = t("Pay with up to {points} {point_name}", points=t.number(points), point_name=name)
    else:
        points = r.points_price
        text = t(
            "{name} for {points} {point_name}",
            name=r.name,
            points=t.number(points),
            point_name=name,
        )
    return RewardPart(
        reward_id=r.reward_id,
        code=r.code,
        name=r.name,
        kind=r.kind,
        points=points,
        valid_until=r.valid_until,
        text=text,
    )


def _challenge(t: Texts, config: ProgramConfig, c: MemberChallengeRead) -> ChallengePart:
    if c.status == "completed":
        text = t("{name}: completed", name=c.name)
    elif c.goal == "streak":
        text = t(
            "{name}: {progress} of {target} in a row",
            name=c.name,
            progress=t.number(c.streak or 0),
            target=t.number(c.target),
        )
    elif c.currency is not None:
        text = t(
            "{name}: {progress} of {target}",
            name=c.name,
            progress=t.money(c.progress, c.currency),
            target=t.money(c.target, c.currency),
        )
    else:
        text = t(
            "{name}: {progress} of {target}",
            name=c.name,
            progress=t.number(c.progress),
            target=t.number(c.target),
        )
    if c.status != "completed" and c.ends_at is not None:
        text += " " + t("(ends {date})", date=t.date(c.ends_at, config.timezone))
    return ChallengePart(
        code=c.code,
        name=c.name,
        status=c.status,
        progress=(c.streak or 0) if c.goal == "streak" else c.progress,
        target=c.target,
        ends_at=c.ends_at,
        text=text,
    )


def _referral(session: Session, t: Texts, member: Member, now: datetime) -> ReferralPart | None:
    if member.status != "active" or referrals.configured(session) is None:
        return None
    found = referrals.member_referral(session, member_id=member.id, now=now)
    return ReferralPart(
        code=found.code,
        link=found.link,
        text=t("Invite a friend with your link: {link}", link=found.link),
    )


def _recommendation(t: Texts, r: RecommendationRead) -> RecommendationPart:
    name = r.name or r.sku
    if r.kind == "buy_again":
        text = t("Time to buy {name} again?", name=name)
    elif r.kind == "bought_together":
        text = t("{name} goes well with {other}", name=name, other=r.because_name or r.because)
    else:
        text = t("Popular in the club: {name}", name=name)
    return RecommendationPart(sku=r.sku, name=name, kind=r.kind, text=text)
