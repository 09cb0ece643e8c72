"""Control groups: a stable, random-looking bucket in [0, 1) for a member and a salt.

``assign_bucket(member_key, salt)`` hashes ``salt`` and the member's key with BLAKE2b and
reads the first 8 bytes as a fraction, so the same member always lands in the same bucket of
the same journey (reruns and restarts agree), different salts shuffle the members
independently (a journey's holdout is not another's), and a new salt reshuffles them. A
member is held out of a journey when ``assign_bucket(...) < holdout_percent / 100``
(``journeys.steps``).
"""

from __future__ import annotations

import hashlib

# the first 53 bits: a double holds every multiple of 2**-53 below 1 exactly (64 bits over
# 2**64 could round up to 1.0)
_BITS = 53


def assign_bucket(member_key: str, salt: str) -> float:
    digest = hashlib.blake2b(f"{salt}\x00{member_key}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> (64 - _BITS)) / (1 << _BITS)
