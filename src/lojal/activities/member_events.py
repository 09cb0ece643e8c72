"""Recording events (custom ones and the club's own) for a member, the points the event rules
give them, and the reactions. An event for an identity that is not a member yet is kept and
credited when they enrol (``activities.crediting``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.activities import dating, queries
from lojal.activities.dating import Sender
from lojal.activities.errors import UnknownMember
from lojal.activities.events import EventRecorded
from lojal.activities.models import Event
from lojal.activities.recorded import REF_FIELDS, Recorded, check_date
from lojal.activities.schemas import EventCreate, MemberRef
from lojal.ledger import service as ledger
from lojal.members import queries as member_queries
from lojal.members import service as members
from lojal.members.identities import normalise
from lojal.members.models import Member
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.rules import queries as rule_queries
from lojal.rules import usage as rule_usage
from lojal.rules.engine import Award, EventFacts, MemberFacts
from lojal.rules.engine import award_event as rules_award_event


def resolve_ref(
    session: Session, ref: MemberRef, config: ProgramConfig
) -> tuple[Member | None, tuple[str, str] | None]:
    """The member an activity belongs to, or the (kind, value) identity to keep for later."""
    if ref.member_id is not None:
        member = session.get(Member, ref.member_id)
        if member is None:
            raise UnknownMember(f"member {ref.member_id} does not exist", field="member_id")
        return members.resolve(session, member), None
    first: tuple[str, str] | None = None
    for kind, field in REF_FIELDS:
        raw = getattr(ref, field)
        if not raw:
            continue
        value = normalise(kind, raw, config.phone_region)
        member_id = member_queries.member_id_by_identity(session, kind, value)
        if member_id is not None:
            return members.resolve(session, members.get(session, member_id)), None
        first = first or (kind, value)
    return None, first


def member_tier(member: Member) -> str | None:
    """The member's current tier as the rules see it (None while the club has no tiers)."""
    return member.tier


def record_event(
    session: Session, *, data: EventCreate, now: datetime, sender: Sender = Sender.INTERNAL
) -> Recorded:
    if data.event_id is not None:
        existing = session.scalar(select(Event).where(Event.event_id == data.event_id))
        if existing is not None:
            return Recorded(existing, queries.explanation(session, f"event:{existing.id}"), False)
    config = program_service.current(session)
    occurred_at = data.occurred_at or now
    check_date(session, occurred_at, now=now, sender=sender, what="an event", config=config)
    member, identity = resolve_ref(session, data, config)
    event = Event(
        event_id=data.event_id or f"lojal:{uuid.uuid4()}",
        member_id=member.id if member else None,
        identity_kind=identity[0] if identity else None,
        identity_value=identity[1] if identity else None,
        type=data.type,
        channel=data.channel,
        occurred_at=occurred_at,
        properties=data.properties,
        points=0,
        recorded_at=now,
    )
    session.add(event)
    session.flush()
    explanation = ""
    if member is not None and member.status == "active":
        pending_from = dating.pending_starts(occurred_at, recorded_at=now, trusted=sender.trusted)
        explanation = award_event(session, event, member, config, now, pending_from)
    if member is not None:
        reactions.after_events(session, [event_recorded(event)], now)
    return Recorded(event, explanation, True)


def event_recorded(event: Event) -> EventRecorded:
    assert event.member_id is not None
    return EventRecorded(
        event_id=event.id,
        member_id=event.member_id,
        type=event.type,
        occurred_at=event.occurred_at,
        properties=dict(event.properties),
    )


def award_event(
    session: Session,
    event: Event,
    member: Member,
    config: ProgramConfig,
    now: datetime,
    pending_from: datetime | None = None,
) -> str:
    ruleset = config.ruleset()
    used = rule_queries.used_points(
        session, ruleset=ruleset, member_id=member.id, at=event.occurred_at
    )
    award = rules_award_event(
        ruleset,
        EventFacts(
            type=event.type,
            occurred_at=event.occurred_at,
            properties=event.properties,
            channel=event.channel,
        ),
        MemberFacts(
            enrolment_channel=member.enrolment_channel,
            attributes=member.attributes,
            tier=member_tier(member),
        ),
        used,
    )
    if award.points <= 0:
        return award.explanation
    event.points = award.points
    entry = ledger.earn(
        session,
        member_id=member.id,
        points=award.points,
        key=f"event:{event.id}",
        earned_at=event.occurred_at,
        now=now,
        config=config,
        source=f"event:{event.type}",
        explanation=award.explanation,
        detail=_detail(award),
        pending_from=pending_from,
    )
    rule_usage.record_usage(
        session,
        ruleset=ruleset,
        award=award,
        member_id=member.id,
        entry_id=entry.id,
        at=event.occurred_at,
    )
    return award.explanation


def _detail(award: Award) -> dict[str, Any]:
    return {"parts": [{"rule": p.rule_id, "points": p.points, "text": p.text} for p in award.parts]}
