"""Reading segments: who a definition holds for now (the preview and the count), the members
of a saved segment, a member's segments, their history, and a member's facts for the
in-memory evaluator. Nothing here writes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.activities.models import Event, Purchase, PurchaseLine, Return
from lojal.calendar import local_day
from lojal.insight.models import MemberScore
from lojal.ledger.models import PointBalance
from lojal.members.models import Consent, Member
from lojal.memberships.models import Membership
from lojal.program import service as program
from lojal.program.errors import ProgramNotConfigured
from lojal.referrals.models import Referral
from lojal.segments.compile import COUNTED_REFERRALS, Context, member_ids
from lojal.segments.definition import Anniversary, Definition, walk
from lojal.segments.errors import SegmentNotFound
from lojal.segments.evaluate import MemberFacts, Row
from lojal.segments.models import Segment, SegmentMembership
from lojal.segments.schemas import MemberBrief, SegmentRead

DEFAULT_ZONE = "Europe/Stockholm"


def club_zone(session: Session) -> tzinfo:
    try:
        return ZoneInfo(program.current(session).timezone)
    except ProgramNotConfigured:
        return ZoneInfo(DEFAULT_ZONE)


def context(session: Session, now: datetime, definition: Definition) -> Context:
    """What a definition is compiled for in this club at ``now`` (the earliest enrolment is
    read only for a definition that speaks of anniversaries)."""
    zone = club_zone(session)
    first_year = now.year
    if any(isinstance(node, Anniversary) for node in walk(definition)):
        earliest = session.scalar(select(func.min(Member.enrolled_at)))
        if earliest is not None:
            first_year = local_day(earliest, zone).year
    return Context(now, zone, first_year, session.get_bind().dialect.name)


def holding(
    session: Session,
    definition: Definition,
    *,
    now: datetime,
    only: Sequence[int] | None = None,
) -> list[int]:
    """The ids of the members the definition holds for at ``now`` (sorted)."""
    query = member_ids(definition, context(session, now, definition), only=only)
    return sorted(session.scalars(query))


def preview(
    session: Session, definition: Definition, *, now: datetime, sample: int = 10
) -> tuple[int, list[Member]]:
    """How many members the definition holds for now, and the first ``sample`` of them."""
    query = member_ids(definition, context(session, now, definition)).subquery()
    count = session.scalar(select(func.count()).select_from(query)) or 0
    ids = list(session.scalars(select(query.c.id).order_by(query.c.id).limit(sample)))
    members = list(session.scalars(select(Member).where(Member.id.in_(ids)).order_by(Member.id)))
    return count, members


def get(session: Session, segment: int | str) -> Segment:
    """A segment by id or code."""
    found: Segment | None
    if isinstance(segment, int) or (isinstance(segment, str) and segment.isdigit()):
        found = session.get(Segment, int(segment))
    else:
        found = session.scalar(select(Segment).where(Segment.code == segment))
    if found is None:
        raise SegmentNotFound(f"no segment {segment}")
    return found


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.id)))


def size(session: Session, segment_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                SegmentMembership.segment_id == segment_id, SegmentMembership.left_at.is_(None)
            )
        )
        or 0
    )


def current_ids(session: Session, segment_id: int) -> list[int]:
    return list(
        session.scalars(
            select(SegmentMembership.member_id)
            .where(SegmentMembership.segment_id == segment_id, SegmentMembership.left_at.is_(None))
            .order_by(SegmentMembership.member_id)
        )
    )


def members_page(
    session: Session, segment_id: int, *, after: int = 0, limit: int = 100
) -> list[SegmentMembership]:
    """The segment's members now, by member id, after ``after`` (keyset paging)."""
    return list(
        session.scalars(
            select(SegmentMembership)
            .where(
                SegmentMembership.segment_id == segment_id,
                SegmentMembership.left_at.is_(None),
                SegmentMembership.member_id > after,
            )
            .order_by(SegmentMembership.member_id)
            .limit(limit)
        )
    )


def segments_of(session: Session, member_id: int) -> list[tuple[Segment, SegmentMembership]]:
    """The segments a member is in now, with since when."""
    rows = session.execute(
        select(Segment, SegmentMembership)
        .join(SegmentMembership, SegmentMembership.segment_id == Segment.id)
        .where(SegmentMembership.member_id == member_id, SegmentMembership.left_at.is_(None))
        .order_by(Segment.id)
    )
    return [(segment, membership) for segment, membership in rows]


def history_of(session: Session, member_id: int) -> list[tuple[Segment, SegmentMembership]]:
    """Every time the member entered a segment, and left it, oldest first."""
    rows = session.execute(
        select(Segment, SegmentMembership)
        .join(SegmentMembership, SegmentMembership.segment_id == Segment.id)
        .where(SegmentMembership.member_id == member_id)
        .order_by(SegmentMembership.id)
    )
    return [(segment, membership) for segment, membership in rows]


# ---------------------------------------------------------------- facts for the evaluator


def _purchase(p: Purchase) -> dict[str, Any]:
    return {
        "order_id": p.order_id,
        "channel": p.channel,
        "store_id": p.store_id,
        "total_minor": p.total_minor,
        "attributes": dict(p.attributes or {}),
    }


def facts_of(session: Session, ids: Sequence[int]) -> dict[int, MemberFacts]:
    """Each member's facts, everything a definition may read, for ``segments.evaluate``."""
    wanted = list(ids)
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(wanted)))}
    activity: dict[int, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    purchases = {
        p.id: p for p in session.scalars(select(Purchase).where(Purchase.member_id.in_(wanted)))
    }
    for p in purchases.values():
        assert p.member_id is not None
        activity[p.member_id]["purchases"].append(Row(p.occurred_at, {"purchase": _purchase(p)}))
    if purchases:
        for line in session.scalars(
            select(PurchaseLine).where(PurchaseLine.purchase_id.in_(list(purchases)))
        ):
            p = purchases[line.purchase_id]
            assert p.member_id is not None
            context = {
                "line": {
                    "sku": line.sku,
                    "name": line.name,
                    "category": line.category,
                    "quantity": line.quantity,
                    "unit_price_minor": line.unit_price_minor,
                    "total_minor": line.total_minor,
                },
                "purchase": _purchase(p),
            }
            activity[p.member_id]["lines"].append(Row(p.occurred_at, context))
    for r, p in session.execute(
        select(Return, Purchase)
        .join(Purchase, Purchase.id == Return.purchase_id)
        .where(Return.member_id.in_(wanted))
    ):
        assert r.member_id is not None
        context = {"return": {"total_minor": r.total_minor}, "purchase": _purchase(p)}
        activity[r.member_id]["returns"].append(Row(r.occurred_at, context))
    for e in session.scalars(select(Event).where(Event.member_id.in_(wanted))):
        assert e.member_id is not None
        context = {
            "event": {"type": e.type, "channel": e.channel, "properties": dict(e.properties)}
        }
        activity[e.member_id]["events"].append(Row(e.occurred_at, context))
    consents: dict[int, dict[str, bool]] = defaultdict(dict)
    for c in session.scalars(
        select(Consent).where(Consent.member_id.in_(wanted)).order_by(Consent.id)
    ):
        consents[c.member_id][c.channel] = c.granted
    balances = {
        b.member_id: b
        for b in session.scalars(select(PointBalance).where(PointBalance.member_id.in_(wanted)))
    }
    paid = set(
        session.scalars(
            select(Membership.member_id).where(
                Membership.member_id.in_(wanted), Membership.status == "active"
            )
        )
    )
    referrals: dict[int, int] = defaultdict(int)
    for advocate_id in session.scalars(
        select(Referral.advocate_id).where(
            Referral.advocate_id.in_(wanted), Referral.status.in_(COUNTED_REFERRALS)
        )
    ):
        referrals[advocate_id] += 1
    referred = set(
        session.scalars(select(Referral.referee_id).where(Referral.referee_id.in_(wanted)))
    )
    scores = {
        s.member_id: s
        for s in session.scalars(select(MemberScore).where(MemberScore.member_id.in_(wanted)))
    }
    out: dict[int, MemberFacts] = {}
    for member_id, m in members.items():
        balance = balances.get(member_id)
        fields: dict[str, Any] = {
            "first_name": m.first_name,
            "last_name": m.last_name,
            "birth_date": m.birth_date,
            "locale": m.locale,
            "store_id": m.store_id,
            "enrolment_channel": m.enrolment_channel,
            "enrolled_at": m.enrolled_at.astimezone(UTC),
            "tier": m.tier,
            "points": balance.available if balance is not None else 0,
            "points_pending": balance.pending if balance is not None else 0,
            "paid_membership": member_id in paid,
            "referrals": referrals[member_id],
            "referred": member_id in referred,
            "consent": consents.get(member_id, {}),
            "attributes": dict(m.attributes or {}),
        }
        if (score := scores.get(member_id)) is not None:  # absent for a member not scored
            fields |= {
                "clv_minor": score.clv_minor,
                "p_alive": score.p_alive,
                "churn_risk": score.churn_risk,
                "expected_purchases": score.expected_purchases,
                "rfm": {
                    "r": score.rfm_r,
                    "f": score.rfm_f,
                    "m": score.rfm_m,
                    "group": score.rfm_group,
                },
            }
        out[member_id] = MemberFacts(
            member_id=member_id,
            active=m.status == "active",
            enrolled_at=m.enrolled_at,
            birth_date=m.birth_date,
            member={"member": fields},
            activity={kind: list(rows) for kind, rows in activity[member_id].items()},
        )
    return out


def segment_read(session: Session, segment: Segment) -> SegmentRead:
    return SegmentRead(
        id=segment.id,
        code=segment.code,
        name=segment.name,
        description=segment.description,
        kind=segment.kind,
        definition=segment.definition,
        reads=list(segment.reads),
        size=size(session, segment.id),
        revision=segment.revision,
        evaluated_at=segment.evaluated_at,
        created_at=segment.created_at,
        updated_at=segment.updated_at,
    )


def member_brief(member: Member) -> MemberBrief:
    return MemberBrief(
        member_id=member.id,
        first_name=member.first_name,
        last_name=member.last_name,
        email=member.identity("email"),
        tier=member.tier,
    )
