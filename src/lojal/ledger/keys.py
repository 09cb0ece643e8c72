"""The natural key of a request that must happen once — a spend, an adjustment, a reward's
redemption — derived from what the caller sent (pure).

A request is named by the caller's ``reference`` (a basket, a receipt) when it gives one, else by
its Idempotency-Key, else by nothing, and then it is never a repeat (a new key each time)::

    [<kind>:]<member>:ref:<reference>
    [<kind>:]<member>:key:<Idempotency-Key>
    [<kind>:]<member>:<uuid4>

The key is stored (``journal_entries.key``, ``reward_redemptions.key``) and a repeat is found by
it, so each caller's spelling stays exactly what it has always been: the points endpoints
(``kind`` ``spend``/``adjust``) keep the Idempotency-Key as given; a reward's redemption (no
kind; its spend is keyed ``reward:<key>``) replaces an Idempotency-Key longer than
``digest_over`` (100) characters by the first 40 hex digits of its SHA-256, so that the key
fits its column. Any key that would not fit its column (``KEY_LENGTH``: an Idempotency-Key may
be 255 characters) has its Idempotency-Key replaced the same way — it could never have been
stored as given (PostgreSQL refuses it).
"""

from __future__ import annotations

import hashlib
import uuid

# The length of the columns that store these keys (journal_entries.key, reward_redemptions.key).
KEY_LENGTH = 200


def request_key(
    member_id: int,
    *,
    reference: str | None,
    idempotency_key: str | None,
    kind: str | None = None,
    digest_over: int | None = None,
) -> str:
    prefix = f"{kind}:{member_id}" if kind else str(member_id)
    if reference:
        return f"{prefix}:ref:{reference}"
    if idempotency_key:
        key = f"{prefix}:key:{idempotency_key}"
        if (digest_over is not None and len(idempotency_key) > digest_over) or len(
            key
        ) > KEY_LENGTH:
            return f"{prefix}:key:{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}"
        return key
    return f"{prefix}:{uuid.uuid4()}"
