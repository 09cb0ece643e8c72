"""Unsubscribe tokens: ``<member>.<channel>.<signature>``, an HMAC-SHA256 of the member and
the channel, so a link withdraws exactly that member's consent on that channel and nobody can
make one for another member."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from sqlalchemy.orm import Session

from lojal.errors import Invalid
from lojal.members import service as members
from lojal.members.schemas import ConsentGrant
from lojal.messaging import engagement

CHANNELS = ("email", "sms", "push")


class UnsubscribeTokenInvalid(Invalid):
    pass


def secret_of(unsubscribe_secret: str | None, pepper: str) -> bytes:
    if unsubscribe_secret:
        return unsubscribe_secret.encode()
    return hmac.new(pepper.encode(), b"lojal unsubscribe", hashlib.sha256).digest()


def _signature(secret: bytes, member_id: int, channel: str) -> str:
    mac = hmac.new(secret, f"{member_id}.{channel}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode()


def token(secret: bytes, member_id: int, channel: str) -> str:
    return f"{member_id}.{channel}.{_signature(secret, member_id, channel)}"


def read(secret: bytes, value: str) -> tuple[int, str]:
    """The member and channel a token names; ``UnsubscribeTokenInvalid`` if it is forged."""
    parts = value.split(".")
    if len(parts) == 3 and parts[0].isdigit() and parts[1] in CHANNELS:
        member_id, channel = int(parts[0]), parts[1]
        if hmac.compare_digest(parts[2], _signature(secret, member_id, channel)):
            return member_id, channel
    raise UnsubscribeTokenInvalid("this unsubscribe link is not valid", field="token")


def unsubscribe(session: Session, *, secret: bytes, value: str, now: datetime) -> tuple[int, str]:
    """Withdraw the consent the token names (a new consent row, source ``unsubscribe``),
    and record it as activity (``<channel>_unsubscribed``, ``messaging.engagement``)."""
    member_id, channel = read(secret, value)
    member = members.resolve(session, members.get(session, member_id))
    grant = ConsentGrant(channel=channel, granted=False, source="unsubscribe")
    members.set_consent(session, member_id=member.id, grant=grant, now=now)
    engagement.unsubscribed(session, member_id=member.id, channel=channel, now=now)
    return member.id, channel
