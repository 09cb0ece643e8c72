"""How a member signs in to the portal: a one-time link sent to their email.

The member types their email; if it is an active member's, lojal stores the SHA-256 of a random
token with the member's id and sends ``<public_url>/portal/link/<token>``. The link works once,
for ``LINK_LIFETIME``, for that member only: opening it marks it used and opens a portal
session (its own random token, in a signed cookie). An unknown email gets the same answer as a
known one, so the form tells nobody who is a member.
"""

from __future__ import annotations

import secrets
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from lojal.config import Settings
from lojal.members import queries as member_queries
from lojal.members.identities import normalise_email
from lojal.members.models import Member
from lojal.pages.accounts import token_hash
from lojal.pages.errors import LinkInvalid
from lojal.pages.models import PortalLink, PortalSession

LINK_LIFETIME = timedelta(minutes=20)
SESSION_LIFETIME = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class MemberVisit:
    member_id: int
    csrf_token: str
    session_id: int


@dataclass(frozen=True, slots=True)
class Link:
    member_id: int
    email: str
    url: str
    locale: str | None


def request_link(session: Session, *, email: str, public_url: str, now: datetime) -> Link | None:
    """A new link for the active member with this email (None: no such member)."""
    try:
        address = normalise_email(email)
    except Exception:
        return None
    member_id = member_queries.member_id_by_identity(session, "email", address)
    member = None if member_id is None else session.get(Member, member_id)
    if member is None or member.status != "active":
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        PortalLink(
            token_hash=token_hash(token),
            member_id=member.id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
            used_at=None,
        )
    )
    session.flush()
    return Link(member.id, address, f"{public_url.rstrip('/')}/portal/link/{token}", member.locale)


def open_link(session: Session, *, token: str, now: datetime) -> tuple[MemberVisit, str]:
    """Use the link (once) and open a session: the visit and the session's token."""
    link = session.scalar(
        select(PortalLink).where(PortalLink.token_hash == token_hash(token)).with_for_update()
    )
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise LinkInvalid("This sign-in link has been used or has expired. Ask for a new one.")
    # used exactly once, even by two clicks at the same moment: only one update finds it unused
    used = session.execute(
        update(PortalLink)
        .where(PortalLink.id == link.id, PortalLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    member = session.get(Member, link.member_id)
    if used.rowcount != 1 or member is None or member.status != "active":  # type: ignore[attr-defined]
        raise LinkInvalid("This sign-in link has been used or has expired. Ask for a new one.")
    secret = secrets.token_urlsafe(32)
    row = PortalSession(
        token_hash=token_hash(secret),
        member_id=member.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    return MemberVisit(member.id, row.csrf_token, row.id), secret


def visit_of(session: Session, *, token: str, now: datetime) -> MemberVisit | None:
    found = session.execute(
        select(PortalSession, Member.status)
        .join(Member, Member.id == PortalSession.member_id)
        .where(PortalSession.token_hash == token_hash(token))
    ).first()
    if found is None:
        return None
    row, status = found
    if row.expires_at <= now or status != "active":
        return None
    return MemberVisit(row.member_id, row.csrf_token, row.id)


def sign_out(session: Session, *, token: str) -> None:
    session.execute(delete(PortalSession).where(PortalSession.token_hash == token_hash(token)))
    session.flush()


def send_link(settings: Settings, link: Link, *, subject: str, body: str) -> None:
    """Send the link by SMTP (``Settings.smtp_host`` / ``smtp_port``)."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = link.email
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
