"""Referral codes and links, pure.

A code is 8 characters from a 31-character alphabet without the characters people confuse
when they read a code aloud or type it from a screen (0/O, 1/I/L): 31^8 ≈ 8.5 × 10^11 codes,
so a random new code collides with an existing one rarely enough that a look-up before the
insert settles it. Codes are read back forgivingly: case, spaces and dashes do not matter
(``k7m2-q9xd`` is ``K7M2Q9XD``).

A member's link is the programme's ``link_base_url`` with the code: substituted for
``{code}`` when the base has it (``https://shop.example/join?ref={code}``), else appended as
a path segment (``https://shop.example/join/K7M2Q9XD``).
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
_ALLOWED = frozenset(ALPHABET)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_code(raw: str) -> str | None:
    """The code as stored, or None when ``raw`` cannot be a code (so it is unknown)."""
    code = "".join(ch for ch in raw if not ch.isspace() and ch != "-").upper()
    if len(code) != LENGTH or not set(code) <= _ALLOWED:
        return None
    return code


def link(base_url: str, code: str) -> str:
    if "{code}" in base_url:
        return base_url.replace("{code}", code)
    return base_url.rstrip("/") + "/" + code
