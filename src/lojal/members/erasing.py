"""What erasing a person does to the members feature's tables (see ``lojal.privacy.erasure``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from lojal.members.models import Consent, Member, MemberIdentity

TABLES = {
    "members": "the row stays as the pseudonymous holder of the ledger; names, birth date, "
    "language, attributes and the enrolment's client address are removed",
    "member_identities": "deleted: email, phone, card number and shop customer id",
    "consents": "deleted: with no contact data left there is nothing to consent to",
}


def erase_personal(session: Session, member_ids: Sequence[int], now: datetime) -> dict[str, int]:
    identities = session.scalars(
        delete(MemberIdentity)
        .where(MemberIdentity.member_id.in_(member_ids))
        .returning(MemberIdentity.id)
    ).all()
    consents = session.scalars(
        delete(Consent).where(Consent.member_id.in_(member_ids)).returning(Consent.id)
    ).all()
    session.execute(
        update(Member)
        .where(Member.id.in_(member_ids))
        .values(
            first_name=None,
            last_name=None,
            birth_date=None,
            locale=None,
            attributes={},
            enrolment_address=None,
            updated_at=now,
        )
        .execution_options(synchronize_session="fetch")
    )
    for member_id in member_ids:
        loaded = session.get(Member, member_id)
        if loaded is not None:
            session.expire(loaded)
    return {"identities": len(identities), "consents": len(consents)}
