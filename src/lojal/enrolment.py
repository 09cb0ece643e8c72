"""Enrolling a member: the member's rows (``lojal.members.service.create``), what the other
features do for a new member (``lojal.reactions.after_enrolment``: a referral, the tier
everyone has) and the purchases and events that arrived for the member's identities before
they joined, credited with the points the rules give
(``lojal.activities.crediting.credit_unmatched``) — in that order, in one transaction.

It lives above members, activities and the dispatcher because it needs all three, and
activities needs members: ``members`` imports neither.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from lojal import reactions
from lojal.activities.crediting import credit_unmatched
from lojal.fraud import guards
from lojal.members import service as members
from lojal.members.models import Member
from lojal.members.schemas import MemberCreate
from lojal.program import service as program_service


def enrol(
    session: Session,
    *,
    data: MemberCreate,
    now: datetime,
    region: str = "SE",
    address: str | None = None,
) -> Member:
    """Enrol a member; credit any activity that arrived for their identities before they
    joined. ``address``: the client address of an API enrolment (kept for the fraud alert on
    many enrolments from one address)."""
    member = members.create(session, data=data, now=now, region=region, address=address)
    if address is not None:
        fraud = program_service.current(session).fraud
        guards.enrolment_alert(session, fraud=fraud, member=member, address=address, now=now)
    identities = [(identity.kind, identity.value) for identity in member.identities]
    reactions.after_enrolment(session, member, data, now)
    credit_unmatched(session, member=member, identities=identities, now=now)
    return member
