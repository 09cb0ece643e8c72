"""Badge use cases: the marketer defines badges; members earn them by completing challenges
(``award``) or are given them by staff (``grant``); the profile shows them (``badges_of``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from lojal.badges import queries
from lojal.badges.errors import BadgeCodeTaken, BadgeNotFound, BadgeNotHeld
from lojal.badges.models import Badge, MemberBadge
from lojal.badges.schemas import BadgeCreate, BadgeRead, BadgeUpdate, MemberBadgeRead
from lojal.members import service as members


def create(session: Session, *, data: BadgeCreate, now: datetime) -> Badge:
    if queries.by_code(session, data.code) is not None:
        raise BadgeCodeTaken(f"a badge with code {data.code!r} exists", field="code")
    badge = Badge(
        code=data.code,
        name=data.name,
        description=data.description,
        image_url=data.image_url,
        created_at=now,
        updated_at=now,
    )
    session.add(badge)
    session.flush()
    return badge


def get(session: Session, code: str) -> Badge:
    badge = queries.by_code(session, code)
    if badge is None:
        raise BadgeNotFound(f"no badge {code!r}")
    return badge


def list_all(session: Session) -> list[Badge]:
    return list(session.scalars(queries.all_badges()))


def update(session: Session, *, code: str, data: BadgeUpdate, now: datetime) -> Badge:
    badge = get(session, code)
    for name in ("name", "description", "image_url"):
        if name in data.model_fields_set:
            value = getattr(data, name)
            if name == "name" and value is None:
                continue  # a badge always has a name
            setattr(badge, name, value)
    badge.updated_at = now
    session.flush()
    return badge


def award(
    session: Session, *, member_id: int, badge: Badge, source: str, at: datetime
) -> MemberBadge:
    """The member earns ``badge``: held from now on, or held once more (``times``)."""
    row = queries.held(session, member_id, badge.id)
    if row is None:
        row = MemberBadge(
            member_id=member_id,
            badge_id=badge.id,
            times=1,
            first_earned_at=at,
            last_earned_at=at,
            source=source[:200],
        )
        session.add(row)
    else:
        row.times += 1
        row.last_earned_at = max(row.last_earned_at, at)
        row.source = source[:200]
    session.flush()
    return row


def grant(session: Session, *, member_id: int, code: str, actor: str, now: datetime) -> Badge:
    """Staff give a member a badge; granting a badge the member holds changes nothing, so a
    repeated grant is harmless."""
    member = members.get_active(session, member_id)
    badge = get(session, code)
    if queries.held(session, member.id, badge.id) is None:
        award(session, member_id=member.id, badge=badge, source=f"staff:{actor}", at=now)
    return badge


def revoke(session: Session, *, member_id: int, code: str) -> None:
    member = members.resolve(session, members.get(session, member_id))
    badge = get(session, code)
    row = queries.held(session, member.id, badge.id)
    if row is None:
        raise BadgeNotHeld(f"member {member.id} does not hold the badge {code!r}")
    session.delete(row)
    session.flush()


def badges_of(session: Session, *, member_id: int) -> list[MemberBadgeRead]:
    """The badges a member holds, the first earned first (for the profile and the member's
    summary). Follows merges to the member that carries on."""
    member = members.resolve(session, members.get(session, member_id))
    return [
        MemberBadgeRead(
            code=badge.code,
            name=badge.name,
            description=badge.description,
            image_url=badge.image_url,
            times=row.times,
            first_earned_at=row.first_earned_at,
            last_earned_at=row.last_earned_at,
            source=row.source,
        )
        for row, badge in session.execute(queries.of_member(member.id))
    ]


def to_read(badge: Badge) -> BadgeRead:
    return BadgeRead(
        id=badge.id,
        code=badge.code,
        name=badge.name,
        description=badge.description,
        image_url=badge.image_url,
        created_at=badge.created_at,
        updated_at=badge.updated_at,
    )
