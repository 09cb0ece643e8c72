"""What an advertising platform takes: normalised identifiers, hashed with SHA-256 (pure).

Both platforms match people on **SHA-256 hex digests of normalised values**; the club never
sends an address or a name in the clear. The normal form is each platform's own:

=============  =====================================  =====================================
               Meta custom audience (customer file)    Google Data Manager API (UserData)
=============  =====================================  =====================================
email          ``EMAIL``: trimmed, lower-case          ``emailAddress``: trimmed, lower-case;
                                                       at gmail.com / googlemail.com the dots
                                                       and a ``+tag`` of the local part go
phone          ``PHONE``: the E.164 digits without     ``phoneNumber``: E.164, with its ``+``
               the ``+`` (country code, no symbols,
               no leading zeros)
first name     ``FN``: lower-case, trimmed, no         (``address.givenName``: not sent, see
               punctuation                             below)
last name      ``LN``: the same                        (``address.familyName``)
country        ``COUNTRY``: ISO 3166-1 alpha-2,        (``address.regionCode``)
               lower-case, hashed like the others
=============  =====================================  =====================================

Google takes names only inside an ``address`` that also has a postal code
(``AddressInfo``: ``givenName``, ``familyName``, ``regionCode``, ``postalCode`` are all
required); lojal stores no postal address, so its Google members carry e-mail addresses and
phone numbers only.

Emails and phones arrive here as lojal stores them (``members.identities``: e-mail validated and
lower-cased, phone in E.164), and are normalised again from that form, so a value typed with
spaces or capitals hashes the same as the stored one.

**A neutral audience name.** Meta flags, and refuses to run ads on, custom audiences whose
names suggest a health condition or a financial status (from 2 September 2025). An audience is
named ``lojal segment <id> – <day>`` unless the marketer gives a name, and a given name with
a word of ``HEALTH`` or ``FINANCE`` (English and the club languages, Swedish, Norwegian and
Finnish; a word matches whole, or by its stem in ``STEMS``) is refused, naming the word.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

GMAIL_DOMAINS = ("gmail.com", "googlemail.com")
META_COLUMNS = ("EMAIL", "PHONE", "FN", "LN", "COUNTRY")
# Google takes at most 10 identifiers per audience member.
GOOGLE_MAX_IDENTIFIERS = 10
MAX_NAME_LENGTH = 200

HEALTH = frozenset(
    (
        # en
        "health", "healthy", "medical", "medicine", "medication", "disease", "illness", "ill",
        "sick", "diabetes", "diabetic", "cancer", "arthritis", "pregnant", "pregnancy",
        "obese", "obesity", "overweight", "depression", "anxiety", "hiv", "therapy", "pharmacy",
        "prescription", "allergy", "allergic", "disability", "disabled",
        # sv, nb
        "hälsa", "helse", "sjuk", "sjuka", "syk", "sjukdom", "sykdom", "gravid", "apotek",
        "ångest", "angst", "allergi", "allergiker", "övervikt", "overvekt", "funktionsnedsatt",
        # fi
        "terveys", "sairaus", "sairas", "raskaana", "apteekki", "masennus",
    )
)  # fmt: skip
FINANCE = frozenset(
    (
        # en
        "credit", "debt", "debts", "loan", "loans", "income", "salary", "wealthy", "rich",
        "poor", "poverty", "bankrupt", "bankruptcy", "mortgage", "finance", "financial",
        "insurance", "unemployed", "benefits", "welfare",
        # sv, nb
        "kredit", "skuld", "skulder", "gjeld", "lån", "bolån", "inkomst", "inntekt", "lön",
        "lønn", "rik", "rika", "fattig", "fattiga", "konkurs", "försäkring", "forsikring",
        "arbetslös", "arbeidsledig", "bidrag",
        # fi
        "luotto", "velka", "laina", "tulot", "palkka", "rikas", "köyhä", "konkurssi",
        "vakuutus", "työtön",
    )
)  # fmt: skip
# Stems that name a category in any of their forms (a word that starts with one matches).
STEMS = (
    "diabet", "pregnan", "medicat", "arthrit", "cancer", "pharmac", "prescri", "obes",
    "depress", "sjukd", "sykd", "gravid", "financ", "mortgag", "bankrup", "insur", "inkomst",
    "försäkr", "forsikr", "kredit", "credit", "vakuut", "konkurs",
)  # fmt: skip


def sha256_hex(value: str) -> str:
    """The SHA-256 digest of the UTF-8 bytes of ``value``, as 64 lower-case hex digits."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def email_for_meta(email: str) -> str:
    return email.strip().lower()


def email_for_google(email: str) -> str:
    """Lower-case, no whitespace; at gmail.com and googlemail.com the local part loses its dots
    and its ``+tag`` (Google's own normal form of those addresses)."""
    value = "".join(email.split()).lower()
    local, at, domain = value.rpartition("@")
    if at and domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        return f"{local}@{domain}"
    return value


def phone_for_meta(e164: str) -> str:
    """The digits of an E.164 number: country code first, no ``+``, no symbols."""
    return "".join(ch for ch in e164 if ch.isdigit()).lstrip("0")


def phone_for_google(e164: str) -> str:
    digits = "".join(ch for ch in e164 if ch.isdigit())
    return f"+{digits}"


def name_for_matching(name: str) -> str:
    """Lower-case, trimmed, punctuation removed, inner whitespace one space; letters keep their
    accents (Meta: ``Valéry`` → ``valéry``)."""
    value = unicodedata.normalize("NFC", name).lower()
    value = "".join(ch for ch in value if not unicodedata.category(ch).startswith("P"))
    return " ".join(value.split())


def country_for_meta(region: str) -> str:
    return region.strip().lower()


@dataclass(frozen=True, slots=True)
class Person:
    """A member as lojal stores them: identities normalised (``members.identities``), the
    names as given, the country (ISO 3166-1 alpha-2) of their phone number or the club's."""

    member_id: int
    emails: Sequence[str] = ()
    phones: Sequence[str] = ()
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = None


def meta_row(person: Person) -> dict[str, str]:
    """The member's row of a Meta customer file: hashed ``EMAIL``, ``PHONE``, ``FN``, ``LN``,
    ``COUNTRY`` (their first e-mail address and phone number; empty where unknown)."""
    row = dict.fromkeys(META_COLUMNS, "")
    if person.emails:
        row["EMAIL"] = sha256_hex(email_for_meta(person.emails[0]))
    if person.phones:
        row["PHONE"] = sha256_hex(phone_for_meta(person.phones[0]))
    if person.first_name and (first := name_for_matching(person.first_name)):
        row["FN"] = sha256_hex(first)
    if person.last_name and (last := name_for_matching(person.last_name)):
        row["LN"] = sha256_hex(last)
    if person.country:
        row["COUNTRY"] = sha256_hex(country_for_meta(person.country))
    return row


def google_member(person: Person) -> dict[str, Any]:
    """The member as a Data Manager ``AudienceMember``: ``userData.userIdentifiers`` (hashed
    ``emailAddress`` and ``phoneNumber``, each value once, at most 10) and the member's
    ``consent`` (granted for ad user data and ad personalisation: only consenting members are
    exported)."""
    identifiers: list[dict[str, str]] = []
    seen: set[str] = set()
    values = [("emailAddress", sha256_hex(email_for_google(e))) for e in person.emails]
    values += [("phoneNumber", sha256_hex(phone_for_google(p))) for p in person.phones]
    for key, digest in values:
        if digest not in seen and len(identifiers) < GOOGLE_MAX_IDENTIFIERS:
            seen.add(digest)
            identifiers.append({key: digest})
    return {
        "userData": {"userIdentifiers": identifiers},
        "consent": {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"},
    }


def default_name(segment_id: int, day: date) -> str:
    """A name that says nothing of who is in the audience: ``lojal segment 12 – 2026-12-03``."""
    return f"lojal segment {segment_id} \N{EN DASH} {day.isoformat()}"


@dataclass(frozen=True, slots=True)
class NameProblem:
    word: str
    category: str  # health, finance


_WORD = re.compile(r"[^\W\d_]+")


def name_problem(name: str) -> NameProblem | None:
    """The first word of ``name`` that suggests health or finances, or None."""
    for word in _WORD.findall(unicodedata.normalize("NFC", name).lower()):
        if word in HEALTH:
            return NameProblem(word, "health")
        if word in FINANCE:
            return NameProblem(word, "finance")
        for stem in STEMS:
            if word.startswith(stem):
                category = "finance" if stem in _FINANCE_STEMS else "health"
                return NameProblem(word, category)
    return None


_FINANCE_STEMS = frozenset(
    ("financ", "mortgag", "bankrup", "insur", "inkomst", "försäkr", "forsikr", "kredit",
     "credit", "vakuut", "konkurs")
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LeftOut:
    """Who of the segment is not in the audience, by reason (each member counted once, for the
    first reason that applies, in this order)."""

    closed: int = 0  # closed or merged into another member
    no_consent: int = 0  # no ``ads`` consent given (or it was withdrawn)
    no_identifier: int = 0  # consented, but no e-mail address or phone number to match on

    @property
    def total(self) -> int:
        return self.closed + self.no_consent + self.no_identifier
