"""A member app signs its member in: a one-time code by email, exchanged for a member session.

This is the flow of a mature app's passwordless sign-in, on the API rather than in a browser
(the portal's emailed one-time link, ``lojal.pages.portal_access``, opens a cookie session for
the web; an app needs a token it can keep):

1. The app, with its publishable key (kind ``app``), posts the email the member typed
   (``POST /member-sessions/code``). If it is an active member's, lojal stores a peppered hash
   of a random six-digit code (``SignInCode``), good for ``CODE_LIFETIME`` and
   ``MAX_ATTEMPTS`` tries, and queues an email with it (``lojal.messaging``: transactional, sent
   by the worker). An unknown email gets the same answer, so the endpoint tells nobody who is a
   member. A new code replaces the member's earlier ones on that app.
2. The app posts the email and the code (``POST /member-sessions``). A right code is used once
   and opens a ``MemberSession``: a token ``lojalm_<prefix>_<secret>`` (the secret is stored
   hashed) good for ``SESSION_LIFETIME``. A wrong code counts a try; the last try burns it.
3. The app sends the token as its bearer credential. It reaches that member's own data only
   (``lojal.web.deps``: a request naming another member's id is answered 404, as for a member
   that does not exist). Signing out (``DELETE /member-sessions/current``), revoking the app
   key, and closing or merging the member end it in every server process at once (the access
   revision, ``lojal.staff.service``).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lojal.access.errors import SignInCodeInvalid
from lojal.access.models import MemberSession, SignInCode
from lojal.i18n import language_of, texts
from lojal.members import queries as member_queries
from lojal.members.identities import normalise_email
from lojal.members.models import Member
from lojal.messaging import service as messaging
from lojal.staff import service as keys
from lojal.staff.errors import InvalidApiKey
from lojal.staff.service import Principal

CODE_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(days=30)
MAX_ATTEMPTS = 5
WRONG = "the code is wrong, used or expired: ask for a new one"


@dataclass(frozen=True, slots=True)
class Opened:
    session: MemberSession
    token: str


def _code_hash(code: str, pepper: str, member_id: int, key_id: int) -> str:
    return keys.secret_hash(f"sign-in code:{member_id}:{key_id}:{code}", pepper)


def _active_member(session: Session, email: str) -> Member | None:
    try:
        address = normalise_email(email)
    except Exception:
        return None
    member_id = member_queries.member_id_by_identity(session, "email", address)
    member = None if member_id is None else session.get(Member, member_id)
    return member if member is not None and member.status == "active" else None


def request_code(
    session: Session,
    *,
    app: Principal,
    email: str,
    club: str,
    pepper: str,
    now: datetime,
    club_timezone: str | None = None,
) -> None:
    """Email a sign-in code to the active member with this email (nothing for anyone else),
    in the member's language (the club's, from its time zone, when the member has none)."""
    member = _active_member(session, email)
    if member is None:
        return
    session.execute(
        update(SignInCode)
        .where(
            SignInCode.member_id == member.id,
            SignInCode.key_id == app.key_id,
            SignInCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    row = SignInCode(
        member_id=member.id,
        key_id=app.key_id,
        code_hash=_code_hash(code, pepper, member.id, app.key_id),
        created_at=now,
        expires_at=now + CODE_LIFETIME,
        attempts=0,
        used_at=None,
    )
    session.add(row)
    session.flush()
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    t = texts(language_of(member.locale, club_timezone=club_timezone))
    draft = messaging.Draft(
        member_id=member.id,
        channel="email",
        purpose="transactional",
        key=f"sign-in-code:{row.id}",
        subject=t("Your sign-in code for {club}", club=club),
        body=t(
            "Your code is {code}. It works once, within {minutes} minutes.\n\n"
            "If you did not ask for it, ignore this email.",
            code=code,
            minutes=minutes,
        ),
    )
    messaging.send(session, [draft], now=now)


def open_session(
    session: Session, *, app: Principal, email: str, code: str, pepper: str, now: datetime
) -> Opened | SignInCodeInvalid:
    """A member session for the right code; a wrong one counts a try (kept: the caller
    commits it) and is answered with the error."""
    member = _active_member(session, email)
    row = (
        None
        if member is None
        else session.scalar(
            select(SignInCode)
            .where(
                SignInCode.member_id == member.id,
                SignInCode.key_id == app.key_id,
                SignInCode.used_at.is_(None),
            )
            .order_by(SignInCode.id.desc())
            .limit(1)
            .with_for_update()
        )
    )
    if member is None or row is None or row.expires_at <= now:
        return SignInCodeInvalid(WRONG, field="code")
    if not hmac.compare_digest(row.code_hash, _code_hash(code, pepper, member.id, app.key_id)):
        row.attempts += 1
        if row.attempts >= MAX_ATTEMPTS:
            row.used_at = now
        session.flush()
        return SignInCodeInvalid(WRONG, field="code")
    row.used_at = now
    prefix, secret = keys.new_secret()
    opened = MemberSession(
        prefix=prefix,
        secret_hash=keys.secret_hash(secret, pepper),
        member_id=member.id,
        key_id=app.key_id,
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        revoked_at=None,
    )
    session.add(opened)
    session.flush()
    return Opened(opened, f"lojalm_{prefix}_{secret}")


def authenticate(session: Session, *, token: str, pepper: str, now: datetime) -> Principal:
    prefix, secret = keys.parse(token, "lojalm")
    row = session.scalar(select(MemberSession).where(MemberSession.prefix == prefix))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise InvalidApiKey("the member session is unknown, signed out or expired")
    if not hmac.compare_digest(row.secret_hash, keys.secret_hash(secret, pepper)):
        raise InvalidApiKey("the member session is unknown, signed out or expired")
    app = keys.usable_key(session, key_id=row.key_id, now=now)
    member = session.get(Member, row.member_id)
    if app is None or app.kind != "app" or member is None or member.status != "active":
        raise InvalidApiKey("the member session is unknown, signed out or expired")
    expires = row.expires_at if app.expires_at is None else min(row.expires_at, app.expires_at)
    return Principal(
        app.id, app.name, "member", member_id=row.member_id, session_id=row.id, expires_at=expires
    )


def sign_out(session: Session, *, session_id: int, now: datetime) -> None:
    row = session.get(MemberSession, session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        session.flush()
        keys.bump_revision(session, now=now)
