"""Self-referral guards, pure: does the friend share a way to reach the advocate?

A referral is refused when the referee and the advocate share an email mailbox, a phone
number, a card number or a postal address. Identities are unique across the club, so two
members never hold the *same* normalised email, phone or card (an enrolment that repeats one
is refused with ``IdentityTaken`` before any referral is recorded); what a guard must catch
is the same thing written another way. Each member is reduced to a ``Fingerprint`` of
canonical forms:

* email: the mailbox, not the address — lower-case, without a ``+tag`` sub-address, and for
  Gmail (``gmail.com``/``googlemail.com``) without dots: ``Anna.Berg+club@gmail.com`` and
  ``annaberg@googlemail.com`` are one mailbox;
* phone: E.164 (``lojal.members.identities``);
* card: the member card number, digits only;
* address: the member's ``attributes.address`` — a string, or an object with ``street``,
  ``line1``, ``line2``, ``postal_code``, ``city`` (other keys follow in name order;
  ``country`` is left out) — folded to lower-case letters and digits without accents, spaces
  or punctuation: ``Storgatan 1, 114 55 Stockholm`` and
  ``{street: "STORGATAN 1", postal_code: "11455", city: "Stockholm"}`` are one household.
  Addresses shorter than 6 characters once folded are ignored (too little to tell homes
  apart).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
ADDRESS_ORDER = ("street", "line1", "line2", "postal_code", "zip", "city")
ADDRESS_IGNORED = frozenset({"country", "country_code"})
MIN_ADDRESS = 6


@dataclass(frozen=True, slots=True)
class Fingerprint:
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    cards: frozenset[str] = frozenset()
    address: str | None = None

    @classmethod
    def of(
        cls, identities: Iterable[tuple[str, str]], attributes: Mapping[str, Any]
    ) -> Fingerprint:
        """From a member's (kind, normalised value) identities and attributes."""
        emails, phones, cards = set(), set(), set()
        for kind, value in identities:
            if kind == "email":
                emails.add(mailbox(value))
            elif kind == "phone":
                phones.add(value)
            elif kind == "card":
                cards.add(value)
        return cls(
            frozenset(emails),
            frozenset(phones),
            frozenset(cards),
            household(attributes.get("address")),
        )


def mailbox(email: str) -> str:
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        domain = "gmail.com"
        local = local.replace(".", "")
    return f"{local}@{domain}"


def household(address: Any) -> str | None:
    """The folded form of an address (see the module docstring), or None."""
    if isinstance(address, Mapping):
        keys = [k for k in ADDRESS_ORDER if k in address]
        keys += sorted(k for k in address if k not in ADDRESS_ORDER and k not in ADDRESS_IGNORED)
        parts = [address[k] for k in keys if isinstance(address[k], str | int)]
    elif isinstance(address, str):
        parts = [address]
    else:
        return None
    text = unicodedata.normalize("NFKD", " ".join(str(p) for p in parts)).casefold()
    folded = "".join(ch for ch in text if ch.isalnum() and not unicodedata.combining(ch))
    return folded if len(folded) >= MIN_ADDRESS else None


def shared(advocate: Fingerprint, referee: Fingerprint) -> str | None:
    """The refusal reason when the two fingerprints share something, else None."""
    if advocate.emails & referee.emails:
        return "shared_email"
    if advocate.phones & referee.phones:
        return "shared_phone"
    if advocate.cards & referee.cards:
        return "shared_card"
    if advocate.address is not None and advocate.address == referee.address:
        return "shared_address"
    return None
