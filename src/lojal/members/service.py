"""Member use cases: add a member from any channel, recognise by any identity, consent, close.

Enrolment — adding the member, then what the other features do for a new member and the
activity that waited for them — is ``lojal.enrolment``, and merging two members is
``lojal.members.merging``: both reach into other features, which import this module, so they
live above it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.ledger import posting as ledger_posting
from lojal.ledger import service as ledger
from lojal.members import queries
from lojal.members.errors import IdentityTaken, MemberClosed, MemberNotFound
from lojal.members.identities import new_card_number, normalise
from lojal.members.models import Consent, Member, MemberIdentity
from lojal.members.schemas import (
    ConsentGrant,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    TillMemberRead,
)
from lojal.staff import service as keys

FIELD_OF_KIND = {
    "email": "email",
    "phone": "phone",
    "card": "card_number",
    "external_id": "external_id",
}


def identities_of(data: MemberCreate | MemberUpdate, region: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for kind, field in FIELD_OF_KIND.items():
        raw = getattr(data, field, None)
        if raw:
            out.append((kind, normalise(kind, raw, region)))
    return out


def _claim(session: Session, member: Member, kind: str, value: str, now: datetime) -> None:
    owner = queries.member_id_by_identity(session, kind, value)
    if owner is not None and owner != member.id:
        raise IdentityTaken(
            f"{FIELD_OF_KIND[kind]} {value!r} belongs to another member",
            field=FIELD_OF_KIND[kind],
        )
    if owner is None:
        identity = MemberIdentity(member_id=member.id, kind=kind, value=value, created_at=now)
        session.add(identity)
        member.identities.append(identity)


# Identities whose change puts spending on hold for a while (a taken-over account's first
# step is to change where the sign-in codes and receipts go).
HELD_KINDS = frozenset({"email", "phone"})


def create(
    session: Session,
    *,
    data: MemberCreate,
    now: datetime,
    region: str = "SE",
    address: str | None = None,
) -> Member:
    """Add a member with their identities, consents and an empty balance. Enrolling is more
    (``lojal.enrolment.enrol``): call this only from there."""
    identities = identities_of(data, region)
    if not any(kind == "card" for kind, _ in identities):
        identities.append(("card", new_card_number()))
    taken = queries.owners_of(session, identities)
    for kind, value in identities:
        if (kind, value) in taken:
            raise IdentityTaken(
                f"{FIELD_OF_KIND[kind]} {value!r} belongs to another member",
                field=FIELD_OF_KIND[kind],
            )
    member = Member(
        status="active",
        enrolment_channel=data.channel,
        enrolled_at=data.enrolled_at or now,
        first_name=data.first_name,
        last_name=data.last_name,
        birth_date=data.birth_date,
        locale=data.locale,
        store_id=data.store_id,
        attributes=data.attributes,
        updated_at=now,
        enrolment_address=address,
        # checked above; given with the new member, so that the flush writes them with it
        identities=[
            MemberIdentity(kind=kind, value=value, created_at=now) for kind, value in identities
        ],
    )
    session.add(member)
    session.flush()
    for grant in data.consents:
        _record_consent(session, member.id, grant, now)
    ledger_posting.open_balance(session, member_id=member.id, now=now)
    session.flush()
    return member


def get(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise MemberNotFound(f"member {member_id} does not exist")
    return member


def get_active(session: Session, member_id: int) -> Member:
    member = resolve(session, get(session, member_id))
    if member.status != "active":
        raise MemberClosed(f"member {member.id} is closed")
    return member


def resolve(session: Session, member: Member) -> Member:
    """Follow merges to the member that carries on."""
    seen = {member.id}
    while member.status == "merged" and member.merged_into_id is not None:
        member = get(session, member.merged_into_id)
        if member.id in seen:
            break
        seen.add(member.id)
    return member


def find(session: Session, *, kind: str, value: str, region: str = "SE") -> Member:
    normalised = normalise(kind, value, region)
    member = session.scalar(queries.by_identity(kind, normalised))
    if member is None:
        raise MemberNotFound(f"no member with {FIELD_OF_KIND[kind]} {normalised!r}")
    return resolve(session, member)


def update_member(
    session: Session, *, member_id: int, data: MemberUpdate, now: datetime, region: str = "SE"
) -> Member:
    member = get_active(session, member_id)
    for kind, value in identities_of(data, region):
        current = next((i for i in member.identities if i.kind == kind), None)
        if kind in HELD_KINDS and (current is None or current.value != value):
            # a new way to reach the member: spending waits a while (lojal.fraud.guards)
            member.identity_changed_at = now
        _claim(session, member, kind, value, now)
        if current is not None and current.value != value:
            # a new email, phone or shop id replaces the one shown (and frees the old one)
            member.identities.remove(current)
            session.delete(current)
    for field in ("first_name", "last_name", "birth_date", "locale"):
        if field in data.model_fields_set:
            setattr(member, field, getattr(data, field))
    if data.attributes is not None:
        member.attributes = {**member.attributes, **data.attributes}
    member.updated_at = now
    session.flush()
    return member


def _record_consent(session: Session, member_id: int, grant: ConsentGrant, now: datetime) -> None:
    session.add(
        Consent(
            member_id=member_id,
            channel=grant.channel,
            granted=grant.granted,
            source=grant.source,
            recorded_at=now,
        )
    )


def set_consent(session: Session, *, member_id: int, grant: ConsentGrant, now: datetime) -> Member:
    member = get_active(session, member_id)
    _record_consent(session, member.id, grant, now)
    session.flush()
    return member


def close(session: Session, *, member_id: int, now: datetime, reason: str = "closed") -> Member:
    """Close a membership: remaining points are forfeited (recorded as expired), identities
    stay so that history still resolves."""
    member = get_active(session, member_id)
    ledger.forfeit_all(session, member_id=member.id, now=now, reason=reason)
    member.status = "closed"
    member.closed_at = now
    member.updated_at = now
    session.flush()
    keys.bump_revision(session, now=now)  # its app sessions stop in every server process
    return member


def till_view(member: Member, *, handle: str, handle_expires_at: datetime) -> TillMemberRead:
    return TillMemberRead(
        id=member.id,
        status=member.status,
        first_name=member.first_name,
        card_number=member.identity("card"),
        locale=member.locale,
        handle=handle,
        handle_expires_at=handle_expires_at,
    )


def to_read(session: Session, member: Member) -> MemberRead:
    consents = queries.current_consents(session, member.id)
    return MemberRead(
        id=member.id,
        status=member.status,
        enrolment_channel=member.enrolment_channel,
        enrolled_at=member.enrolled_at,
        email=member.identity("email"),
        phone=member.identity("phone"),
        card_number=member.identity("card"),
        external_id=member.identity("external_id"),
        first_name=member.first_name,
        last_name=member.last_name,
        birth_date=member.birth_date,
        locale=member.locale,
        store_id=member.store_id,
        attributes=member.attributes,
        consents={
            ch: {"granted": c.granted, "source": c.source, "recorded_at": c.recorded_at}
            for ch, c in consents.items()
        },
        merged_into_id=member.merged_into_id,
    )


def list_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Member.id).order_by(Member.id)))
