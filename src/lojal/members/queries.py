from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from lojal.db.driver import Driver
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


def owners_of(
    session: Session, identities: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The members that hold any of these (kind, value) identities: one indexed read on the
    driver (an enrolment's check; what the session holds is flushed first)."""
    if not identities:
        return {}
    db = Driver.of(session)
    match = " OR ".join("(kind = ? AND value = ?)" for _ in identities)
    rows = db.all(
        f"SELECT kind, value, member_id FROM member_identities WHERE {match}",
        [part for pair in identities for part in pair],
    )
    return {(str(kind), str(value)): int(member_id) for kind, value, member_id in rows}


def current_consents(session: Session, member_id: int) -> dict[str, Consent]:
    rows = session.scalars(
        select(Consent).where(Consent.member_id == member_id).order_by(Consent.id)
    )
    return {row.channel: row for row in rows}
