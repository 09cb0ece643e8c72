"""What the club's other features do when something happens to a member — in the same
transaction as the thing itself, so that both commit or neither does.

The facts are values of their own (``lojal.activities.events``). The place that records a
fact calls the function here for it, and that function calls each feature that reacts to it,
explicitly — no registry: what reacts to a purchase is read here, in the order it runs:

* ``after_purchases``: recorded purchases of members, a whole batch at once (the API's group
  or an import batch), after their rows and points are written — tiers (an upgrade is at
  once, and a challenge targeted at a tier reads the new one), referrals, challenges;
* ``after_returns``: returns recorded for members' purchases — referrals, challenges,
  coupons (a returned order's code gets its use back);
* ``after_events``: events recorded for members, custom or lojal's own (``tier_changed``,
  ``membership_started``, ``member_merged``, ...) — tiers, challenges;
* ``after_enrolment``: a new member (with what they enrolled with) — referrals, tiers;
* then journeys (``journeys.triggers``: the runs the fact starts, and their first jobs);
* last after each: segments (``segments.live``: the members touched, in the segments that
  read what changed; the ``segment_entered`` / ``segment_left`` events they cause are
  passed on like any other);
* ``dispatch``: any mix of facts, to the functions above.

This module imports the features; no feature that reacts imports it. A reaction that causes a
fact of its own (tiers recording ``tier_changed``) returns it, and the dispatcher passes it on
in turn — at once, before the next feature reacts, so that every feature sees the facts in the
order they happened — until no reaction causes anything more (``MAX_DEPTH`` bounds a chain
that would not end). The places that record facts outside a reaction — recording activity
(``lojal.activities``), enrolment (``lojal.enrolment``), payments (``lojal.memberships``), a
merge (``lojal.members.merging``), the tier jobs (``lojal.jobs``) and staff decisions (the tier
entry points) — call it with what they recorded.

A reaction must be set-based (a batch can hold thousands of purchases), must not commit, and
must be safe to run again for the same facts (an import run twice, a retried request): key what
it writes on the fact's natural id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded, Fact, PurchaseRecorded, ReturnRecorded
from lojal.challenges import progress as challenges
from lojal.challenges import returns as challenge_returns
from lojal.coupons import redemptions as coupons
from lojal.journeys import triggers as journeys
from lojal.members.models import Member
from lojal.members.schemas import MemberCreate
from lojal.referrals import rewards as referral_rewards
from lojal.referrals import service as referrals
from lojal.segments import live as segments
from lojal.tiers import upgrades as tiers
from lojal.webhooks import events as webhooks

# How deep facts caused by reactions may chain (today: a purchase → tier_changed → nothing).
MAX_DEPTH = 8


class EndlessReactions(RuntimeError):
    """Reactions kept causing facts: a loop between features, a bug to fix in the code."""


def after_purchases(
    session: Session, purchases: Sequence[PurchaseRecorded], now: datetime, *, depth: int = 0
) -> None:
    if not purchases:
        return
    _then(session, tiers.on_purchases(session, purchases, now), now, depth)
    referral_rewards.on_purchases(session, purchases, now)
    _then(session, challenges.on_purchases(session, purchases, now), now, depth)
    webhooks.on_purchases(session, purchases, now)
    journeys.on_purchases(session, purchases, now)
    _then(session, segments.on_purchases(session, purchases, now), now, depth)


def after_returns(
    session: Session, returns: Sequence[ReturnRecorded], now: datetime, *, depth: int = 0
) -> None:
    if not returns:
        return
    referral_rewards.on_returns(session, returns, now)
    challenge_returns.on_returns(session, returns, now)
    coupons.restore_returned(session, returns, now)
    webhooks.on_returns(session, returns, now)
    journeys.on_returns(session, returns, now)
    _then(session, segments.on_returns(session, returns, now), now, depth)


def after_events(
    session: Session, events: Sequence[EventRecorded], now: datetime, *, depth: int = 0
) -> None:
    if not events:
        return
    _then(session, tiers.on_events(session, events, now), now, depth)
    _then(session, challenges.on_events(session, events, now), now, depth)
    webhooks.on_events(session, events, now)
    journeys.on_events(session, events, now)
    _then(session, segments.on_events(session, events, now), now, depth)


def after_enrolment(session: Session, member: Member, data: MemberCreate, now: datetime) -> None:
    referrals.on_enrolment(session, member=member, referral_code=data.referral_code, now=now)
    _then(session, tiers.on_enrolment(session, member, now), now, 0)
    webhooks.on_enrolment(session, member.id, member.enrolment_channel, now)
    journeys.on_enrolment(session, member.id, now)
    _then(session, segments.on_enrolment(session, member.id, now), now, 0)


def dispatch(session: Session, facts: Sequence[Fact], now: datetime, *, depth: int = 0) -> None:
    """Let every feature react to these facts (purchases, then returns, then events)."""
    if depth > MAX_DEPTH:
        raise EndlessReactions(f"reactions still caused facts after {MAX_DEPTH} rounds")
    after_purchases(
        session, [f for f in facts if isinstance(f, PurchaseRecorded)], now, depth=depth
    )
    after_returns(session, [f for f in facts if isinstance(f, ReturnRecorded)], now, depth=depth)
    after_events(session, [f for f in facts if isinstance(f, EventRecorded)], now, depth=depth)


def _then(session: Session, caused: Sequence[Fact], now: datetime, depth: int) -> None:
    """The facts a reaction caused, passed on before the next feature reacts."""
    if caused:
        dispatch(session, caused, now, depth=depth + 1)
