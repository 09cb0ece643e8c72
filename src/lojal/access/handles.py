"""Member handles: how a till proves it found the member it acts for.

A till finds a member only by an identity shown at the till (``GET /till/members``: a card
number, an email or a phone number). The answer carries a *handle*,
``<member id>.<expiry>.<signature>``: an HMAC, under a key derived from the API key pepper, of
the till's key id, the member id and the expiry. The till sends it back as the
``Lojal-Member-Handle`` header of every request about that member (points, spending, rewards,
coupons). A handle is good for ``LIFETIME``, for that till key and that member only; a till
that walks member ids, or replays another till's handle, is refused. Nothing is stored, so
every server process checks a handle alike, and revoking the key ends its handles with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

LIFETIME = timedelta(minutes=30)
HEADER = "Lojal-Member-Handle"


def _signature(pepper: str, key_id: int, member_id: int, expires: int) -> str:
    secret = hashlib.sha256(b"lojal member handle\x00" + pepper.encode()).digest()
    message = f"{key_id}.{member_id}.{expires}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode()


def issue(*, pepper: str, key_id: int, member_id: int, now: datetime) -> tuple[str, datetime]:
    """The handle of ``member_id`` for the till key ``key_id``, and when it expires."""
    expires = int((now + LIFETIME).timestamp())
    handle = f"{member_id}.{expires}.{_signature(pepper, key_id, member_id, expires)}"
    return handle, datetime.fromtimestamp(expires, tz=now.tzinfo)


def member_of(handle: str, *, pepper: str, key_id: int, now: datetime) -> int | None:
    """The member a valid, unexpired handle of this key names; None for anything else."""
    parts = handle.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    member_id, expires = int(parts[0]), int(parts[1])
    if expires <= now.timestamp() or len(parts[0]) > 19:
        return None
    if not hmac.compare_digest(parts[2], _signature(pepper, key_id, member_id, expires)):
        return None
    return member_id
