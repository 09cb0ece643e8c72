"""Staff accounts, password sign-in with lock-out, and server-side sessions.

Passwords are hashed with Argon2id (``argon2-cffi``'s ``PasswordHasher``, its default
parameters, re-hashed on sign-in when they change). A session is a random token: the browser's
cookie carries it (signed, see ``lojal.pages.security``), the database holds only its SHA-256,
so a leaked table signs nobody in, and deleting the row signs the browser out at once.

Lock-out counts failed attempts in the last ``LOCK_WINDOW``: ``ACCOUNT_LIMIT`` for one email
(whoever guesses), ``ADDRESS_LIMIT`` from one address (whatever email it tries). While locked,
even the right password is refused, and the message says when to try again. The counts live
in the database, so every server process sees the same ones.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lojal.members.identities import normalise_email
from lojal.pages.errors import (
    LockedOut,
    StaffUserExists,
    StaffUserNotFound,
    UnknownRole,
    WeakPassword,
)
from lojal.pages.models import SignInAttempt, StaffSession, StaffUser
from lojal.pages.roles import ROLES

LOCK_WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 12

_hasher = PasswordHasher()


@cache
def _dummy() -> str:
    """Checked when the email is unknown, so that a wrong email costs as long as a wrong
    password. Made on the first sign-in, not at import: a hash costs ~0.3 s of CPU, which every
    command and every import worker process would otherwise pay on start."""
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class Staff:
    """Who is signed in: what a page needs to know of them."""

    user_id: int
    email: str
    role: str
    csrf_token: str
    session_id: int


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(session: Session, *, email: str, role: str, password: str, now: datetime) -> StaffUser:
    if role not in ROLES:
        raise UnknownRole(f"the role must be one of {', '.join(ROLES)}", field="role")
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(
            f"the password must be at least {MIN_PASSWORD} characters", field="password"
        )
    address = normalise_email(email)
    if session.scalar(select(StaffUser.id).where(StaffUser.email == address)) is not None:
        raise StaffUserExists(f"there is already a staff user {address}")
    user = StaffUser(email=address, role=role, password_hash=_hasher.hash(password), created_at=now)
    session.add(user)
    session.flush()
    return user


def users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.email)))


def remove_user(session: Session, *, email: str) -> StaffUser:
    """Delete the user and every session they have: signed out everywhere at once."""
    user = session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
    if user is None:
        raise StaffUserNotFound(f"no staff user {email}")
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    session.delete(user)
    session.flush()
    return user


def _failures(session: Session, column: object, value: str, since: datetime) -> int:
    return int(
        session.scalar(
            select(func.count(SignInAttempt.id)).where(
                column == value,  # type: ignore[arg-type]
                SignInAttempt.succeeded.is_(False),
                SignInAttempt.at > since,
            )
        )
        or 0
    )


def lock_state(session: Session, *, email: str, address: str, now: datetime) -> str | None:
    """Why a sign-in is refused before the password is even checked (None: it is not)."""
    since = now - LOCK_WINDOW
    minutes = int(LOCK_WINDOW.total_seconds() // 60)
    if _failures(session, SignInAttempt.email, email, since) >= ACCOUNT_LIMIT:
        return (
            f"This account is locked after {ACCOUNT_LIMIT} failed sign-ins. "
            f"Try again in {minutes} minutes, or ask an owner to help."
        )
    if _failures(session, SignInAttempt.address, address, since) >= ADDRESS_LIMIT:
        return f"Too many failed sign-ins from this address. Try again in {minutes} minutes."
    return None


def sign_in(
    session: Session, *, email: str, password: str, address: str, now: datetime
) -> tuple[Staff, str] | None:
    """Check the password and open a session: the signed-in staff member and the session's
    token (for the cookie; shown once, never stored), or None for a wrong email or password.
    Every attempt is recorded in the caller's transaction (so a failure is returned, not
    raised: the caller commits it, and then tells the person); ``LockedOut`` records
    nothing."""
    try:
        address_email = normalise_email(email)
    except Exception:  # not an email at all: counts as a failure against the address
        address_email = email.strip().lower()[:320]
    reason = lock_state(session, email=address_email, address=address, now=now)
    if reason is not None:
        raise LockedOut(reason, retry_after=int(LOCK_WINDOW.total_seconds()))
    user = session.scalar(select(StaffUser).where(StaffUser.email == address_email))
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _dummy(), password) and user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    session.add(SignInAttempt(email=address_email, address=address, succeeded=ok, at=now))
    # Old attempts are of no use past the window: forget them as we go.
    session.execute(delete(SignInAttempt).where(SignInAttempt.at < now - 2 * LOCK_WINDOW))
    session.flush()
    if not ok or user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_sign_in_at = now
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        address=address[:64],
    )
    session.add(row)
    session.flush()
    return Staff(user.id, user.email, user.role, row.csrf_token, row.id), token


def staff_of(session: Session, *, token: str, now: datetime) -> Staff | None:
    """The staff member whose session the token opens (None: signed out, expired, removed)."""
    found = session.execute(
        select(StaffSession, StaffUser)
        .join(StaffUser, StaffUser.id == StaffSession.user_id)
        .where(StaffSession.token_hash == token_hash(token))
    ).first()
    if found is None:
        return None
    row, user = found
    if row.expires_at <= now:
        return None
    return Staff(user.id, user.email, user.role, row.csrf_token, row.id)


def sign_out(session: Session, *, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(token)))
    session.flush()
