from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from lojal.members.models import Consent, Member, MemberIdentity


def by_identity(kind: str, value: str) -> Select[Member]:
    return (
        select(Member)
        .join(MemberIdentity, MemberIdentity.member_id == Member.id)
        .where(MemberIdentity.kind == kind, MemberIdentity.value == value)
    )


def member_id_by_identity(session: Session, kind: str, value: str) -> int | None:
    return session.scalar(
        select(MemberIdentity.member_id).where(
            MemberIdentity.kind == kind, MemberIdentity.value == value
        )
    )


def current_consents(session: Session, member_id: int) -> dict[str, Consent]:
    rows = session.scalars(
        select(Consent).where(Consent.member_id == member_id).order_by(Consent.id)
    )
    return {row.channel: row for row in rows}
