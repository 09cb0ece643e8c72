"""Erasure (GDPR art. 17) and retention: a person's personal data removed, the ledger intact.

Points are money to the member and a liability to the club, and receipts are bookkeeping
records the law keeps (seven years in Sweden, Bokföringslagen 7 kap.). So erasure does not
delete the member: it closes the membership (remaining points are forfeited by balanced
entries), then removes what names the person — names, birth date, language, attributes, every
identity (email, phone, card, shop id), consents, and the free-form data sent with purchases
and events — and records a ``member_erased`` event. What stays is a pseudonymous member id that
holds the ledger, the receipts and the statistics, and that nothing links to a person any more.

``TABLES`` says, for every table with a column that refers to members, what erasure does to it;
``tests/privacy/test_erasure.py`` fails when a table refers to members and ``TABLES`` does not
name it, so a new feature cannot forget to say what erasure does to its rows.

Retention: ``erase_inactive`` erases the members with no activity (enrolment, purchase, return,
event) for N years.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.activities import erasing as activities
from lojal.activities.models import Event, Purchase, Return
from lojal.activities.system import SystemEvent, record_events
from lojal.audit import capture as audit
from lojal.calendar import add_months
from lojal.fraud import erasing as fraud
from lojal.members import erasing as members
from lojal.members import service as member_service
from lojal.members.models import Member
from lojal.messaging import erasing as messaging
from lojal.privacy.export import the_person

MEMBER_ERASED = "member_erased"

KEPT = "kept: holds no personal data (ids, points, codes, dates)"
TABLES: dict[str, str] = {
    **members.TABLES,
    **activities.TABLES,
    **messaging.TABLES,
    **fraud.TABLES,
    "journal_entries": "kept (bookkeeping): the points ledger stays balanced",
    "postings": "kept (bookkeeping)",
    "point_lots": "kept (bookkeeping)",
    "point_balances": "kept (bookkeeping): zero after the forfeit",
    "rule_awards": KEPT,
    "member_tiers": KEPT,
    "tier_changes": "kept: the record of each tier decision",
    "memberships": "kept (bookkeeping): paid plans",
    "revenue_records": "kept (bookkeeping): fees paid",
    "referral_codes": KEPT,
    "referrals": "kept: links between pseudonymous ids",
    "challenge_facts": KEPT,
    "challenge_progress": KEPT,
    "challenge_completions": KEPT,
    "member_badges": KEPT,
    "coupon_codes": KEPT,
    "coupon_member_uses": KEPT,
    "coupon_redemptions": "kept (bookkeeping): discounts given",
    "reward_redemptions": "kept (bookkeeping)",
    "partner_codes": KEPT,
    "audit_log": "kept: who changed what and when; the values before and after are emptied",
    "member_portal_links": "kept: hashes of used or expired links; the member is closed",
    "member_portal_sessions": "kept: a closed member's sessions open nothing",
    "member_sessions": "kept: a closed member's app sessions open nothing",
    "member_sign_in_codes": "kept: hashes of used or expired codes; the member is closed",
    "segment_memberships": "kept: when a pseudonymous id was in which segment; it leaves them all",
    "member_scores": "kept: figures of a pseudonymous id (RFM, CLV); a closed member is in no "
    "segment",
    "journey_runs": "kept: which steps a pseudonymous id took, when (the journeys' figures)",
    "journey_messages": KEPT,
}


@dataclass(frozen=True, slots=True)
class Erased:
    member_id: int
    members: list[int]
    removed: dict[str, int]
    already: bool = False


def erased(session: Session, member_id: int) -> bool:
    return bool(
        session.scalar(
            select(exists().where(Event.member_id == member_id, Event.type == MEMBER_ERASED))
        )
    )


def erase(session: Session, *, member_id: int, now: datetime, reason: str = "request") -> Erased:
    """Erase the person of ``member_id`` (the member and every member merged into them), in the
    caller's transaction. Erasing twice does nothing the second time."""
    ids = the_person(session, member_id)
    if erased(session, member_id):
        return Erased(member_id, ids, {}, already=True)
    member = session.get(Member, member_id)
    assert member is not None  # the_person checked
    if member.status == "active":
        member_service.close(session, member_id=member_id, now=now, reason="erased")
    removed: dict[str, Any] = {}
    removed |= members.erase_personal(session, ids, now)
    removed |= activities.erase_personal(session, ids)
    removed |= messaging.erase_personal(session, ids)
    removed |= fraud.erase_personal(session, ids)
    session.flush()
    removed["audit_records"] = audit.redact(session, ids, now)
    audit.record(
        session,
        action="member.erased",
        entity="members",
        entity_id=member_id,
        now=now,
        after={"reason": reason, "members": ids},
    )
    event = SystemEvent(
        f"{MEMBER_ERASED}:{member_id}",
        member_id,
        MEMBER_ERASED,
        now,
        {"reason": reason, "members": len(ids)},
    )
    reactions.after_events(session, record_events(session, [event], now), now)
    return Erased(member_id, ids, removed)


def inactive_members(session: Session, *, years: int, now: datetime, limit: int) -> list[int]:
    """Members (not merged away, not yet erased) with no enrolment, purchase, return or event
    in the last ``years`` years."""
    cutoff = add_months(now, -12 * years)
    last_purchase = (
        select(func.max(Purchase.occurred_at)).where(Purchase.member_id == Member.id)
    ).scalar_subquery()
    last_return = (
        select(func.max(Return.occurred_at)).where(Return.member_id == Member.id)
    ).scalar_subquery()
    last_event = (
        select(func.max(Event.occurred_at)).where(Event.member_id == Member.id)
    ).scalar_subquery()
    query = (
        select(Member.id)
        .where(
            Member.status != "merged",
            ~exists().where(Event.member_id == Member.id, Event.type == MEMBER_ERASED),
            Member.enrolled_at < cutoff,
            func.coalesce(last_purchase, Member.enrolled_at) < cutoff,
            func.coalesce(last_return, Member.enrolled_at) < cutoff,
            func.coalesce(last_event, Member.enrolled_at) < cutoff,
        )
        .order_by(Member.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def erase_inactive(session: Session, *, years: int, now: datetime, limit: int = 1000) -> list[int]:
    """Erase up to ``limit`` members inactive for ``years`` years; returns their ids."""
    if years < 1:
        raise ValueError("retention must be at least one year")
    ids = inactive_members(session, years=years, now=now, limit=limit)
    for member_id in ids:
        erase(session, member_id=member_id, now=now, reason=f"inactive {years} years")
    return ids
