"""The member 360 for staff: everything lojal knows of one member, read in one go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lojal.activities.models import Event, Purchase, Return
from lojal.ledger import queries as ledger_queries
from lojal.ledger.models import JournalEntry
from lojal.ledger.queries import BalanceNow
from lojal.members import queries as member_queries
from lojal.members.errors import InvalidIdentity
from lojal.members.identities import normalise
from lojal.members.models import IDENTITY_KINDS, Consent, Member, MemberIdentity

ENTRIES_SHOWN = 50
ACTIVITY_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Activity:
    at: datetime
    kind: str
    text: str
    amount_minor: int | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class Member360:
    member: Member
    identities: list[MemberIdentity]
    consents: dict[str, Consent]
    consent_history: list[Consent]
    balance: BalanceNow
    entries: list[JournalEntry]
    activity: list[Activity]


def find(session: Session, query: str, *, region: str, limit: int = 20) -> list[Member]:
    """Members whose identity (email, phone, card number, shop id) is ``query``, or whose
    member id it is; then members whose name starts with it."""
    text = query.strip()
    if not text:
        return []
    ids: set[int] = set()
    if text.isdigit():
        ids.add(int(text))
    for kind in IDENTITY_KINDS:
        try:
            value = normalise(kind, text, region)
        except InvalidIdentity:  # not a value of this kind
            continue
        found = member_queries.member_id_by_identity(session, kind, value)
        if found is not None:
            ids.add(found)
    exact = list(session.scalars(select(Member).where(Member.id.in_(ids)).order_by(Member.id)))
    if len(exact) >= limit or len(text) < 2:
        return exact
    pattern = text.replace("%", "").replace("_", "") + "%"
    by_name = session.scalars(
        select(Member)
        .where(or_(Member.first_name.ilike(pattern), Member.last_name.ilike(pattern)))
        .where(Member.id.not_in(ids) if ids else Member.id > 0)
        .order_by(Member.id)
        .limit(limit - len(exact))
    )
    return exact + list(by_name)


def read(session: Session, member: Member, *, now: datetime) -> Member360:
    entries, _ = ledger_queries.entries_page(session, member.id, before=None, limit=ENTRIES_SHOWN)
    history = list(
        session.scalars(
            select(Consent).where(Consent.member_id == member.id).order_by(Consent.id.desc())
        )
    )
    activity: list[Activity] = [
        Activity(
            p.occurred_at,
            "purchase",
            f"order {p.order_id} ({p.channel})",
            p.total_minor,
            p.currency,
        )
        for p in session.scalars(
            select(Purchase)
            .where(Purchase.member_id == member.id)
            .order_by(Purchase.occurred_at.desc())
            .limit(ACTIVITY_SHOWN)
        )
    ]
    activity += [
        Activity(r.occurred_at, "return", f"return {r.return_id}", r.total_minor, None)
        for r in session.scalars(
            select(Return)
            .where(Return.member_id == member.id)
            .order_by(Return.occurred_at.desc())
            .limit(ACTIVITY_SHOWN)
        )
    ]
    activity += [
        Activity(e.occurred_at, "event", e.type, None, None)
        for e in session.scalars(
            select(Event)
            .where(Event.member_id == member.id)
            .order_by(Event.occurred_at.desc())
            .limit(ACTIVITY_SHOWN)
        )
    ]
    activity.sort(key=lambda a: a.at, reverse=True)
    return Member360(
        member=member,
        identities=list(member.identities),
        consents=member_queries.current_consents(session, member.id),
        consent_history=history,
        balance=ledger_queries.balance_now(session, member.id, now=now, with_lots=True),
        entries=entries,
        activity=activity[:ACTIVITY_SHOWN],
    )
