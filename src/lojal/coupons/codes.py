"""Coupon codes: the alphabet, the check character, normalising what a person typed, and
generating codes in bulk. Pure: values in, values out.

Alphabet
--------
31 characters: the digits ``2-9`` and the letters ``A-Z`` without ``I``, ``L`` and ``O``. The
characters people confuse when they read a code off a receipt or a screen (``0``/``O``,
``1``/``I``/``L``) are not in it. A code of ``n`` random characters has ``31**n`` possible
values: 9 characters give 2.6·10^13, the default 10 give 8.2·10^14 (the minimum length is 9, so
that every campaign has at least 10^12 possible codes).

Normal form
-----------
What a person types is compared in normal form: upper case, without spaces and separators
(``-``, ``_``, ``.``, ``/``), so ``abcd-efgh`` and ``ABCDEFGH`` are the same code. Codes are
shown in groups of four (``ABCD-EFGH-JK``); the hyphens are decoration.

Check character
---------------
A campaign may append one check character, computed over the whole normal form (prefix
included) with a weighted sum modulo 31 — the construction of the "pure" systems of ISO/IEC
7064 (MOD 11-2, MOD 37-2), carried to the prime 31, which is also the alphabet's size. With the
characters' values ``v`` (their positions in the alphabet) and the check character last,
position ``k`` counted from the right (the check character is ``k = 0``) weighs ``3**k``, and a
code is well-formed when::

    sum(v_k * 3**k) ≡ 0   (mod 31)

Because 31 is prime and 3 is a primitive root modulo 31, the weights of the 30 positions are
distinct and never 0, so the check catches

* every single wrong character: it changes the sum by ``3**k * (v - v')``, never 0 mod 31;
* every swap of two neighbours (the check character included): ``3**k * (3 - 1) * (v - v')``;
* every swap across one character (``3**k * (9 - 1)``) and every "twin" error (``aa``→``bb``).

So a mistyped code is refused without looking it up (``lojal.coupons.redemptions``), and of
random strings of the right shape only one in 31 gets as far as a lookup. Codes are at most 30
characters, where the weights would start to repeat.

Generating
----------
``generate(n, length)`` draws from ``secrets.token_bytes`` (the operating system's CSPRNG) and
turns bytes into characters by rejection: bytes ``0..247`` (8 × 31) map to ``byte % 31`` and the
rest are dropped, so every character is uniform. ``bytes.translate`` does this in C, and the
check characters are summed by ``int(…, 34)`` (see ``_weighted``), also in C: a million codes
with their check characters take about a second.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BASE = len(ALPHABET)  # 31, a prime
RADIX = 3  # a primitive root modulo 31
MIN_LENGTH = 9  # 31**9 ≈ 2.6e13 ≥ 10**12 possible codes per campaign
MAX_LENGTH = 24  # random characters; with a prefix and the check at most 30 in all
MAX_CODE = 30
SEPARATORS = " -_./\t"
VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_STRIP = str.maketrans("", "", SEPARATORS)

# bytes 0..247 -> a character (byte % 31); 248..255 dropped: uniform over the alphabet
_KEEP = BASE * (256 // BASE)
_TABLE = bytes(ord(ALPHABET[b % BASE]) if b < _KEEP else 0 for b in range(256))
_DROP = bytes(range(_KEEP, 256))
# Each character as the digit of its value in base 34 (34 ≡ 3 mod 31, see _weighted).
_RADIX_34 = BASE + RADIX
_DIGITS = str.maketrans(
    {ch: "0123456789abcdefghijklmnopqrstu"[value] for ch, value in VALUE.items()}
)


def normalise(raw: str) -> str:
    """The normal form of a code as typed: upper case, no spaces or separators."""
    return raw.translate(_STRIP).upper()


def in_alphabet(code: str) -> bool:
    return all(ch in VALUE for ch in code)


def check_character(body: str) -> str:
    """The character that makes ``body + check`` well-formed. ``body`` must be in the
    alphabet."""
    return ALPHABET[-_weighted(body + ALPHABET[0]) % BASE]


def is_well_formed(code: str) -> bool:
    """Whether ``code`` (normal form, check character last) passes its check."""
    if not code or len(code) > MAX_CODE or not in_alphabet(code):
        return False
    return _weighted(code) % BASE == 0


def _weighted(code: str) -> int:
    """``sum(v_k * 34**k)``, which is ``sum(v_k * 3**k)`` modulo 31 (34 ≡ 3): the characters'
    values written as base-34 digits and read back by ``int`` — the weighted sum in C."""
    return int(code.translate(_DIGITS), _RADIX_34)


def display(code: str, group: int = 4) -> str:
    """``ABCDEFGHJK`` → ``ABCD-EFGH-JK`` (how a code is printed)."""
    return "-".join(code[i : i + group] for i in range(0, len(code), group))


def random_characters(count: int) -> str:
    """``count`` characters drawn uniformly from the alphabet with the system's CSPRNG."""
    out: list[str] = []
    have = 0
    while have < count:
        # ~3 % of bytes are dropped; ask for a little more than needed
        chunk = secrets.token_bytes((count - have) * 33 // 32 + 16)
        text = chunk.translate(_TABLE, _DROP).decode("ascii")
        out.append(text)
        have += len(text)
    return "".join(out)[:count]


def generate(count: int, *, length: int, prefix: str = "", check: bool = True) -> list[str]:
    """``count`` random codes in normal form: ``prefix`` + ``length`` random characters (+ the
    check character). They may repeat (rarely); the caller removes repeats and codes that
    exist already."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"length must be {MIN_LENGTH}-{MAX_LENGTH}")
    text = random_characters(count * length)
    bodies = [prefix + text[i : i + length] for i in range(0, count * length, length)]
    if not check:
        return bodies
    return with_checks(bodies)


def with_checks(bodies: Iterable[str]) -> list[str]:
    """Each body with its check character appended (the bulk form of ``check_character``)."""
    zero, digits = ALPHABET[0], _DIGITS
    return [
        body + ALPHABET[-int((body + zero).translate(digits), _RADIX_34) % BASE] for body in bodies
    ]


def possible_codes(length: int) -> int:
    """How many different codes ``length`` random characters can make."""
    return int(BASE**length)
