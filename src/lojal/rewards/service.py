"""Reward use cases: the catalogue, partner code pools, redeeming, and what a member can afford
(the reads are ``rewards.queries``).

Redeeming is one transaction (the caller's; the writer's savepoint over HTTP):

1. lock the member's balance row (``ledger.lock_balance``): one member's redemptions run one
   at a time, so a repeated request finds the first one's row by its natural ``key`` and
   answers with it — points are never spent twice;
2. check the reward: switched on, inside its window, the member's tier, the per-member limit,
   enough available points as of now (``ledger.settle`` first writes what the member's lots
   owe: no point is spent after its expiry) — refusals raise and the savepoint takes back
   whatever was written;
3. take a unit of stock with ``UPDATE rewards SET stock = stock - 1 WHERE id = ? AND stock > 0``
   — the database decides who gets the last unit (PostgreSQL re-checks the condition after the
   winner commits, SQLite serialises writers);
4. draw a partner code (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent draws take
   different codes), spend the points oldest first (``ledger.spend``, key
   ``reward:<redemption key>``), issue the coupon (``coupons.service.issue_code``, keyed by the
   same key), and record the redemption.

Any refusal or failure raises, and the savepoint takes everything back with it.

Points as payment: one point is worth ``point_value`` of the currency's major unit, so
``rate = point_value × 10**minor_units`` minor units. ``rate`` is a fraction ``p/q``: a member
pays with a multiple of ``q`` points (or an amount that is a multiple of ``p``), so that points
and money convert both ways exactly and no rounding ever enters the ledger or the coupon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.activities.system import SystemEvent, record_events
from lojal.coupons import service as coupons
from lojal.coupons.schemas import CampaignCreate, OfferIn
from lojal.i18n import format_money
from lojal.ledger import posting as ledger_posting
from lojal.ledger import queries as ledger_queries
from lojal.ledger import service as ledger
from lojal.ledger.errors import InsufficientPoints
from lojal.ledger.keys import request_key
from lojal.members import service as members
from lojal.members.models import Member
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.rewards import queries
from lojal.rewards.errors import (
    InvalidPointsAmount,
    InvalidReward,
    NotEligible,
    OutOfStock,
    PartnerPoolEmpty,
    ReferenceReused,
    RewardCodeTaken,
    RewardLimitReached,
    RewardUnavailable,
)
from lojal.rewards.models import PartnerCode, Reward, RewardRedemption
from lojal.rewards.schemas import AffordableReward, RewardCreate, RewardUpdate

ISSUES_COUPON = ("coupon", "product", "points_payment")

# rewards/cli.py still reads these from here.
find_reward = queries.find_reward
list_rewards = queries.list_rewards
partner_codes_left = queries.partner_codes_left


# ------------------------------------------------------------------ the catalogue


def create_reward(session: Session, *, data: RewardCreate, now: datetime) -> Reward:
    if session.scalar(select(Reward.id).where(Reward.code == data.code)) is not None:
        raise RewardCodeTaken(f"a reward with code {data.code!r} exists", field="code")
    campaign_id = None
    if data.kind in ISSUES_COUPON:
        campaign = coupons.create_campaign(
            session,
            data=CampaignCreate(
                name=f"reward: {data.name}",
                uses_per_code=1,
                **_offer(data).model_dump(),
            ),
            now=now,
            source="reward",
        )
        campaign_id = campaign.id
    reward = Reward(
        code=data.code,
        name=data.name,
        description=data.description,
        kind=data.kind,
        points_price=data.points_price,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        stock=data.stock,
        tiers=list(data.tiers),
        limit_per_member=data.limit_per_member,
        campaign_id=campaign_id,
        coupon_valid_days=data.coupon_valid_days,
        min_points=data.min_points,
        max_points=data.max_points,
        active=data.active,
        created_at=now,
        updated_at=now,
    )
    session.add(reward)
    session.flush()
    return reward


def _offer(data: RewardCreate) -> OfferIn:
    if data.kind == "coupon":
        assert data.coupon is not None
        return data.coupon
    if data.kind == "product":
        return OfferIn(discount_kind="product", product_sku=data.product_sku)
    # points as payment: each code carries its own amount (coupon_codes.amount_minor)
    return OfferIn(discount_kind="amount", amount_minor=1)


def update_reward(session: Session, *, reward_id: int, data: RewardUpdate, now: datetime) -> Reward:
    reward = queries.get_reward(session, reward_id)
    if "points_price" in data.model_fields_set and reward.kind == "points_payment":
        raise InvalidReward("a points_payment reward has no fixed price", field="points_price")
    nullable = ("description", "valid_from", "valid_until", "stock", "limit_per_member")
    for name in data.model_fields_set:
        value = getattr(data, name)
        if value is None and name not in nullable:
            continue
        setattr(reward, name, list(value) if isinstance(value, list) else value)
    if reward.valid_from and reward.valid_until and reward.valid_until <= reward.valid_from:
        raise InvalidReward("valid_until must be after valid_from", field="valid_until")
    reward.updated_at = now
    session.flush()
    return reward


REWARD_REDEEMED = "reward_redeemed"


@dataclass(frozen=True, slots=True)
class Imported:
    imported: int
    duplicates: int
    available: int


def import_partner_codes(
    session: Session, *, reward_id: int, codes: list[str], now: datetime
) -> Imported:
    """Add codes to a partner reward's pool. Codes already in the pool (or repeated in the
    list) are counted as duplicates, so importing a file twice adds nothing."""
    reward = queries.get_reward(session, reward_id)
    if reward.kind != "partner":
        raise InvalidReward(f"reward {reward.code!r} is not a partner reward", field="kind")
    wanted = list(dict.fromkeys(code.strip() for code in codes if code.strip()))
    existing: set[str] = set()
    for i in range(0, len(wanted), 500):
        existing.update(
            session.scalars(
                select(PartnerCode.code).where(
                    PartnerCode.reward_id == reward_id, PartnerCode.code.in_(wanted[i : i + 500])
                )
            )
        )
    fresh = [code for code in wanted if code not in existing]
    session.add_all(PartnerCode(reward_id=reward_id, code=code, imported_at=now) for code in fresh)
    session.flush()
    return Imported(
        len(fresh), len(codes) - len(fresh), queries.partner_codes_left(session, reward_id)
    )


# ------------------------------------------------------------------ points as payment


def point_rate(config: ProgramConfig) -> Fraction:
    """What one point is worth in minor units of the club's currency, exactly."""
    return Fraction(config.point_value) * Fraction(10**config.minor_units)


def payment(
    config: ProgramConfig, *, points: int | None, amount_minor: int | None
) -> tuple[int, int]:
    """(points, amount in minor units) of a payment with points, exactly, or
    ``InvalidPointsAmount`` when the two cannot be converted without rounding."""
    rate = point_rate(config)
    if rate <= 0:
        raise InvalidPointsAmount("the programme's point_value is 0: points cannot pay")
    if points is not None:
        value = points * rate
        if value.denominator != 1:
            raise InvalidPointsAmount(
                f"points must be a multiple of {rate.denominator} (one point is worth "
                f"{rate} minor units)",
                field="points",
            )
        return points, int(value)
    if amount_minor is None:
        raise InvalidPointsAmount("give points or amount_minor", field="points")
    needed = amount_minor / rate
    if needed.denominator != 1:
        step = format_money(rate.numerator, config.currency)
        raise InvalidPointsAmount(
            f"amount_minor must be a multiple of {rate.numerator} ({step})", field="amount_minor"
        )
    return int(needed), amount_minor


# ------------------------------------------------------------------ redeeming


def eligible(session: Session, reward: Reward, member: Member) -> str | None:
    """Why the member may not have the reward (None when they may). Tiers now; segments will
    add a check here (``reward.segments`` against the member's memberships) when they exist."""
    if reward.tiers and member.tier not in reward.tiers:
        return f"the reward is for the tiers {', '.join(reward.tiers)}"
    return None


def available(reward: Reward, now: datetime) -> str | None:
    if not reward.active:
        return "the reward is not available"
    if reward.valid_from is not None and now < reward.valid_from:
        return f"the reward is available from {reward.valid_from.isoformat()}"
    if reward.valid_until is not None and now >= reward.valid_until:
        return f"the reward ended at {reward.valid_until.isoformat()}"
    return None


def redemption_key(member_id: int, reference: str | None, idempotency_key: str | None) -> str:
    """The redemption's natural key: the caller's reference, else its Idempotency-Key (hashed
    when long), else a new one (a request that carries neither is never a repeat)."""
    return request_key(
        member_id, reference=reference, idempotency_key=idempotency_key, digest_over=100
    )


def redeem(
    session: Session,
    *,
    reward_id: int,
    member_id: int,
    key: str,
    now: datetime,
    channel: str | None = None,
    points: int | None = None,
    amount_minor: int | None = None,
) -> tuple[RewardRedemption, bool]:
    """Spend the member's points on the reward and give it (see the module docstring). Returns
    the redemption and whether it is new (False: ``key`` was redeemed before)."""
    reward = queries.get_reward(session, reward_id)
    member = members.get_active(session, member_id)
    balance = ledger_posting.lock_balance(session, member.id)
    done = queries.find_redemption(session, key)
    if done is not None:
        if done.reward_id != reward.id:
            raise ReferenceReused("this reference was used to redeem another reward")
        return done, False
    why = available(reward, now)
    if why is not None:
        raise RewardUnavailable(why)
    why = eligible(session, reward, member)
    if why is not None:
        raise NotEligible(why)
    if reward.limit_per_member is not None:
        had = session.scalar(
            select(func.count())
            .select_from(RewardRedemption)
            .where(RewardRedemption.member_id == member.id, RewardRedemption.reward_id == reward.id)
        )
        if (had or 0) >= reward.limit_per_member:
            raise RewardLimitReached(
                f"the reward can be redeemed {reward.limit_per_member} time(s) per member"
            )
    config = program_service.current(session)
    price, value = _price(reward, config, points, amount_minor)
    # the points as of now: expired lots gone, lots past their pending period available
    ledger_posting.settle(session, member_id=member.id, now=now)
    if balance.available < price:
        raise InsufficientPoints(
            f"{price} points needed but only {balance.available} are available",
            available=balance.available,
        )
    if reward.stock is not None:
        taken = session.execute(
            update(Reward)
            .where(Reward.id == reward.id, Reward.stock > 0)
            .values(stock=Reward.stock - 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 0:  # type: ignore[attr-defined]
            raise OutOfStock(f"the reward {reward.code!r} is out of stock")
        session.expire(reward, ["stock"])
    partner = _draw_partner_code(session, reward) if reward.kind == "partner" else None
    entry = ledger.spend(
        session,
        member_id=member.id,
        points=price,
        key=f"reward:{key}",
        now=now,
        reason=f"reward {reward.code}",
        reference=key,
        config=config,
    )
    code = None
    if reward.kind in ISSUES_COUPON:
        assert reward.campaign_id is not None
        code = coupons.issue_code(
            session,
            campaign_id=reward.campaign_id,
            reference=f"reward:{key}",
            member_id=member.id,
            now=now,
            amount_minor=value,
            expires_at=now + timedelta(days=reward.coupon_valid_days)
            if reward.coupon_valid_days
            else None,
        )
    redemption = RewardRedemption(
        reward_id=reward.id,
        member_id=member.id,
        key=key,
        points=price,
        entry_id=entry.id,
        coupon_code_id=code.id if code else None,
        amount_minor=value,
        channel=channel,
        created_at=now,
    )
    session.add(redemption)
    session.flush()
    if partner is not None:
        partner.redemption_id = redemption.id
        partner.member_id = member.id
        partner.assigned_at = now
        session.flush()
    # the other features react to it like to any event (journeys: "reward redeemed")
    redeemed = SystemEvent(
        f"{REWARD_REDEEMED}:{redemption.id}",
        member.id,
        REWARD_REDEEMED,
        now,
        {"reward_id": reward.id, "reward_code": reward.code, "points": price},
    )
    reactions.after_events(session, record_events(session, [redeemed], now), now)
    return redemption, True


def _price(
    reward: Reward, config: ProgramConfig, points: int | None, amount_minor: int | None
) -> tuple[int, int | None]:
    if reward.kind != "points_payment":
        assert reward.points_price is not None
        return reward.points_price, None
    if points is None and amount_minor is None:
        raise InvalidPointsAmount("say how many points to pay with", field="points")
    paid, value = payment(config, points=points, amount_minor=amount_minor)
    if reward.min_points is not None and paid < reward.min_points:
        raise InvalidPointsAmount(f"pay at least {reward.min_points} points", field="points")
    if reward.max_points is not None and paid > reward.max_points:
        raise InvalidPointsAmount(f"pay at most {reward.max_points} points", field="points")
    return paid, value


def _draw_partner_code(session: Session, reward: Reward) -> PartnerCode:
    code = session.scalar(
        select(PartnerCode)
        .where(PartnerCode.reward_id == reward.id, PartnerCode.redemption_id.is_(None))
        .order_by(PartnerCode.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if code is None:
        raise PartnerPoolEmpty(f"the partner codes of {reward.code!r} are used up")
    return code


# ------------------------------------------------------------------ what a member can have


def affordable(session: Session, *, member_id: int, now: datetime) -> list[AffordableReward]:
    """The rewards the member can redeem now: available, in stock, eligible, within the
    per-member limit, and paid for by the member's available points (for points as payment:
    at least the smallest payment). For the member's summary."""
    member = members.resolve(session, members.get(session, member_id))
    points = ledger_queries.balance_now(session, member.id, now=now).available
    rewards = [r for r in queries.list_rewards(session) if available(r, now) is None]
    if not rewards:
        return []
    had = queries.redemptions_per_reward(session, member.id)
    pools = queries.partner_codes_per_reward(session)
    config: ProgramConfig | None = None
    out: list[AffordableReward] = []
    for reward in rewards:
        if reward.stock is not None and reward.stock <= 0:
            continue
        if eligible(session, reward, member) is not None:
            continue
        if reward.limit_per_member is not None and had.get(reward.id, 0) >= reward.limit_per_member:
            continue
        if reward.kind == "partner" and not pools.get(reward.id):
            continue
        most: int | None = None
        if reward.kind == "points_payment":
            config = config or program_service.current(session)
            rate = point_rate(config)
            if rate <= 0:
                continue
            most = points if reward.max_points is None else min(points, reward.max_points)
            most -= most % rate.denominator
            if most < max(reward.min_points or 1, rate.denominator):
                continue
        elif reward.points_price is None or reward.points_price > points:
            continue
        out.append(
            AffordableReward(
                reward_id=reward.id,
                code=reward.code,
                name=reward.name,
                kind=reward.kind,
                points_price=reward.points_price,
                max_points=most,
                stock=reward.stock,
                valid_until=reward.valid_until,
            )
        )
    return out
