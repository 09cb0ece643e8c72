"""API keys: ``lojal_<prefix>_<secret>``. The prefix finds the row; the secret is checked
against a peppered SHA-256 in constant time. Scopes:

* ``admin``        everything, including programme changes and point adjustments;
* ``integration``  web shop / app: members, activity, points (read and spend);
* ``pos``          the till: find members, enrol, purchases, returns, spend points.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.db.driver import Driver
from lojal.staff.errors import ApiKeyNotFound, InvalidApiKey, UnknownScope
from lojal.staff.models import ApiKey

SCOPES = ("admin", "integration", "pos")


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: int
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes


def _hash(secret: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def create_key(
    session: Session, *, name: str, scopes: list[str], pepper: str, now: datetime
) -> tuple[ApiKey, str]:
    """Returns the row and the full key, which is shown once and never stored."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise UnknownScope(f"scopes must be among {', '.join(SCOPES)}", field="scopes")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        prefix=prefix,
        secret_hash=_hash(secret, pepper),
        scopes=",".join(sorted(set(scopes))),
        created_at=now,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return row, f"lojal_{prefix}_{secret}"


def authenticate(session: Session, *, token: str, pepper: str) -> Principal:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "lojal":
        raise InvalidApiKey("the API key is malformed")
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if row is None or row.revoked_at is not None:
        raise InvalidApiKey("the API key is unknown or revoked")
    if not hmac.compare_digest(row.secret_hash, _hash(parts[2], pepper)):
        raise InvalidApiKey("the API key is unknown or revoked")
    return Principal(row.id, row.name, frozenset(row.scopes.split(",")))


def is_revoked(session: Session, *, key_id: int) -> bool:
    """Whether the key was revoked (or deleted) since it was authenticated: one primary-key
    read on the driver (~10 µs), cheap enough for every request."""
    row = Driver.of(session, flush=False).one(
        "SELECT revoked_at FROM api_keys WHERE id = ?", (key_id,)
    )
    return row is None or row[0] is not None


def revoke(session: Session, *, prefix: str, now: datetime) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        raise ApiKeyNotFound(f"no API key with prefix {prefix!r}")
    row.revoked_at = now
    session.flush()
    return row
