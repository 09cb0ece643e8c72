"""API keys: ``lojal_<prefix>_<secret>``. The prefix finds the row; the secret is checked
against a peppered SHA-256 in constant time. The plain key is shown once, when it is made or
rotated, and never stored. Each key is of one *kind*, least privilege first:

* ``admin``        everything: the programme, campaigns, adjustments, keys, exports;
* ``integration``  the web shop (a server): members by any identity or id, their activity and
                   points, enrolment and identity changes, purchases and returns at any store;
* ``till``         a point of sale bound to one store: records purchases and returns of its
                   store only; finds a member only by an identity shown at the till (card,
                   email, phone: ``GET /till/members``), which answers the till's view of the
                   member and a *member handle*; acts for that member only while the handle
                   lasts; never lists or walks members, never changes identities;
* ``app``          a member app's publishable key (safe to ship inside the app): the
                   catalogue, and signing a member in (``lojal.access.service``); the member
                   session it opens reaches that member's own data only.

A key may expire (``expires_at``). Rotation gives a new secret and keeps the old one working
for an overlap window; revocation is immediate. Both move the access revision
(``bump_revision``), which every server process reads on each request (one primary-key read)
and which makes it forget the keys it has checked: a revoked key is refused on the next
request by every process, and while nothing changes no request reads a key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lojal.db.driver import Driver
from lojal.staff.errors import ApiKeyNotFound, InvalidApiKey, InvalidKeySettings
from lojal.staff.models import KINDS, AccessRevision, ApiKey
from lojal.staff.schemas import ApiKeyRead, Status

MAX_OVERLAP = timedelta(days=30)
UNKNOWN = "the API key is unknown or revoked"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls: a key of a kind; a till's store; the one member a till (through a member
    handle) or a member session may act for; when the credential stops working."""

    key_id: int
    name: str
    kind: str
    store_id: str | None = None
    member_id: int | None = None
    session_id: int | None = None
    expires_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    @property
    def caller(self) -> str:
        """Whose Idempotency-Keys these are: the key's, or one member session's."""
        return str(self.key_id) if self.session_id is None else f"s{self.session_id}"

    @property
    def actor(self) -> str:
        """Who the audit trail names."""
        if self.session_id is not None:
            return f"member:{self.member_id} session:{self.session_id} key:{self.key_id}"
        return f"key:{self.key_id} {self.name}"

    def for_member(self, member_id: int) -> Principal:
        return replace(self, member_id=member_id)


def secret_hash(secret: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def new_secret() -> tuple[str, str]:
    """A public prefix and a secret."""
    return secrets.token_hex(6), secrets.token_urlsafe(32)


def _check(kind: str, store_id: str | None, expires_at: datetime | None, now: datetime) -> None:
    if kind not in KINDS:
        raise InvalidKeySettings(f"kind must be one of {', '.join(KINDS)}", field="kind")
    if kind == "till" and not store_id:
        raise InvalidKeySettings(
            "a till key is bound to one store: give store_id", field="store_id"
        )
    if kind != "till" and store_id:
        raise InvalidKeySettings("only a till key is bound to a store", field="store_id")
    if expires_at is not None and expires_at <= now:
        raise InvalidKeySettings("expires_at must be in the future", field="expires_at")


def create_key(
    session: Session,
    *,
    name: str,
    kind: str,
    pepper: str,
    now: datetime,
    store_id: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Returns the row and the full key, which is shown once and never stored."""
    _check(kind, store_id, expires_at, now)
    prefix, secret = new_secret()
    row = ApiKey(
        name=name,
        prefix=prefix,
        secret_hash=secret_hash(secret, pepper),
        kind=kind,
        store_id=store_id or None,
        created_at=now,
        expires_at=expires_at,
        rotated_at=None,
        previous_secret_hash=None,
        previous_valid_until=None,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return row, f"lojal_{prefix}_{secret}"


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def get_key(session: Session, prefix: str) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        raise ApiKeyNotFound(f"no API key with prefix {prefix!r}")
    return row


def to_read(row: ApiKey, now: datetime) -> ApiKeyRead:
    return ApiKeyRead(
        prefix=row.prefix,
        name=row.name,
        kind=row.kind,
        store_id=row.store_id,
        status=status_of(row, now),
        created_at=row.created_at,
        expires_at=row.expires_at,
        rotated_at=row.rotated_at,
        previous_valid_until=row.previous_valid_until,
        revoked_at=row.revoked_at,
    )


def status_of(row: ApiKey, now: datetime) -> Status:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def rotate(
    session: Session, *, prefix: str, overlap: timedelta, pepper: str, now: datetime
) -> tuple[ApiKey, str]:
    """A new secret for the key; the current one keeps working for ``overlap`` (zero: it stops
    at once). A secret from before an earlier rotation stops now."""
    if overlap < timedelta(0) or overlap > MAX_OVERLAP:
        raise InvalidKeySettings("the overlap must be 0 to 30 days", field="overlap_seconds")
    row = get_key(session, prefix)
    if status_of(row, now) != "active":
        raise InvalidKeySettings(
            f"the key is {status_of(row, now)}: make a new one", field="prefix"
        )
    _, secret = new_secret()
    row.previous_secret_hash = row.secret_hash if overlap else None
    row.previous_valid_until = now + overlap if overlap else None
    row.secret_hash = secret_hash(secret, pepper)
    row.rotated_at = now
    session.flush()
    bump_revision(session, now=now)
    return row, f"lojal_{prefix}_{secret}"


def revoke(session: Session, *, prefix: str, now: datetime) -> ApiKey:
    """The key (and, for an app key, every member session it opened) stops at once."""
    row = get_key(session, prefix)
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
        bump_revision(session, now=now)
    return row


def bump_revision(session: Session, *, now: datetime) -> None:
    """Tell every server process to forget the keys and sessions it has checked."""
    moved = session.execute(
        update(AccessRevision)
        .where(AccessRevision.id == 1)
        .values(revision=AccessRevision.revision + 1, changed_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount == 0:  # type: ignore[attr-defined]
        session.add(AccessRevision(id=1, revision=1, changed_at=now))
        session.flush()


def revision(session: Session) -> int:
    """The access revision: one primary-key read on the driver (~10 µs)."""
    row = Driver.of(session, flush=False).one("SELECT revision FROM access_revisions WHERE id = 1")
    return 0 if row is None else int(row[0])


def parse(token: str, marker: str) -> tuple[str, str]:
    """The prefix and the secret of ``<marker>_<prefix>_<secret>``."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != marker or not parts[1] or not parts[2]:
        raise InvalidApiKey("the API key is malformed")
    return parts[1], parts[2]


def authenticate(session: Session, *, token: str, pepper: str, now: datetime) -> Principal:
    prefix, secret = parse(token, "lojal")
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or status_of(row, now) != "active":
        raise InvalidApiKey(UNKNOWN)
    given = secret_hash(secret, pepper)
    expires_at = row.expires_at
    if not hmac.compare_digest(row.secret_hash, given):
        previous, until = row.previous_secret_hash, row.previous_valid_until
        if previous is None or until is None or until <= now:
            raise InvalidApiKey(UNKNOWN)
        if not hmac.compare_digest(previous, given):
            raise InvalidApiKey(UNKNOWN)
        expires_at = until if expires_at is None else min(until, expires_at)
    return Principal(row.id, row.name, row.kind, row.store_id, expires_at=expires_at)


def usable_key(session: Session, *, key_id: int, now: datetime) -> ApiKey | None:
    row = session.get(ApiKey, key_id)
    return row if row is not None and status_of(row, now) == "active" else None
