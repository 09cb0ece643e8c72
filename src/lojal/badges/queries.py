from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from lojal.badges.models import Badge, MemberBadge


def by_code(session: Session, code: str) -> Badge | None:
    return session.scalar(select(Badge).where(Badge.code == code))


def all_badges() -> Select[Badge]:
    return select(Badge).order_by(Badge.code)


def held(session: Session, member_id: int, badge_id: int) -> MemberBadge | None:
    return session.scalar(
        select(MemberBadge).where(
            MemberBadge.member_id == member_id, MemberBadge.badge_id == badge_id
        )
    )


def of_member(member_id: int) -> Select[MemberBadge, Badge]:
    """A member's badges, the first earned first."""
    return (
        select(MemberBadge, Badge)
        .join(Badge, Badge.id == MemberBadge.badge_id)
        .where(MemberBadge.member_id == member_id)
        .order_by(MemberBadge.first_earned_at, MemberBadge.id)
    )
