"""Normalising the ways a member is recognised: email lower-case, phone E.164 (numbers without
a country code are read in the club's default region), card numbers as digits."""

from __future__ import annotations

import secrets
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from lojal.members.errors import InvalidIdentity

CARD_LENGTH = 16


def normalise_email(value: str) -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidIdentity(f"email: {exc}", field="email") from exc
    return result.normalized.lower()


def normalise_phone(value: str, region: str = "SE") -> str:
    try:
        number = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentity(f"phone: {value!r} is not a phone number", field="phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentity(f"phone: {value!r} is not a valid phone number", field="phone")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalise_card(value: str) -> str:
    digits = "".join(ch for ch in value if not ch.isspace() and ch != "-")
    if not digits or not digits.isalnum() or len(digits) > 32:
        raise InvalidIdentity(f"card_number: {value!r} is not a card number", field="card_number")
    return digits.upper()


def normalise_external_id(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 128:
        raise InvalidIdentity("external_id must be 1-128 characters", field="external_id")
    return value


def luhn_check_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def new_card_number() -> str:
    """A random 16-digit card number with a Luhn check digit (catches typos at the till)."""
    body = "9" + "".join(secrets.choice("0123456789") for _ in range(CARD_LENGTH - 2))
    return body + luhn_check_digit(body)


NORMALISERS = {
    "email": normalise_email,
    "card": normalise_card,
    "external_id": normalise_external_id,
}


def normalise(kind: str, value: str, region: str = "SE") -> str:
    """The normal form of an identity, or ``InvalidIdentity`` naming the field. Answers are
    remembered (validating an e-mail address costs ~100 µs; members come back)."""
    normal, problem = _normalised(kind, value, region)
    if problem is not None:
        raise InvalidIdentity(problem[0], field=problem[1])
    return normal


@lru_cache(maxsize=100_000)
def _normalised(kind: str, value: str, region: str) -> tuple[str, tuple[str, str | None] | None]:
    try:
        if kind == "phone":
            return normalise_phone(value, region), None
        normaliser = NORMALISERS.get(kind)
        if normaliser is None:
            raise InvalidIdentity(f"unknown identity kind {kind!r}", field="kind")
        return normaliser(value), None
    except InvalidIdentity as exc:
        return "", (exc.detail, exc.field)
