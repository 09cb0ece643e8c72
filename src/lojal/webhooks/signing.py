"""Standard Webhooks signatures (pure).

A message is signed over ``{webhook-id}.{webhook-timestamp}.{body}`` with HMAC-SHA256 and the
endpoint's secret (``whsec_`` + base64 of the key bytes); ``webhook-signature`` is
``v1,<base64 signature>``, one per secret separated by spaces — while a secret is being
rotated both the new and the old one sign, so a receiver that knows either accepts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"
KEY_BYTES = 24


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_of(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret (ValueError when it is not one)."""
    raw = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ValueError("a webhook secret is 'whsec_' and base64") from exc
    if len(key) < 16:
        raise ValueError("a webhook secret has at least 16 bytes of key")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature``: one ``v1,`` signature per secret, newest first."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def headers(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, msg_id, timestamp, body),
    }


def message_id(natural_key: str) -> str:
    """A message's ``webhook-id``, the same for every try: from the event's natural id."""
    digest = hashlib.sha256(natural_key.encode()).digest()[:18]
    return "msg_" + base64.urlsafe_b64encode(digest).decode()
