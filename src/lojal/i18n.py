"""Texts and formats in the member's language: Swedish, Norwegian (bokmål), Finnish, English.

A member's ``locale`` (``sv``, ``sv-SE``, ``nb-NO``, ``fi`` …) picks the language; anything else
falls back to the club's language (the language of its time zone's country) and then to
English. Numbers, money and dates are formatted by Babel with the locale's own conventions
(``1 234 poäng``, ``12,50 kr``, ``31 dec. 2026``); sentences come from gettext catalogues in
``lojal/locales/<language>/LC_MESSAGES/lojal.po``, read with Babel when first needed. A
sentence missing from a catalogue is shown in English.

Money is stored and sent as integer minor units with an ISO 4217 currency; wherever a person
reads an amount it goes through ``format_money``: major units, the currency's own number of
decimals (``minor_units``: SEK 2, JPY 0, KWD 3, as CLDR says) and the currency's sign. Texts in
English (API details, explanations of points, the CLI) use the English form (``SEK 499.00``);
texts in the member's language use theirs (``499,00 kr``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
)

LANGUAGES = ("sv", "nb", "fi", "en")
# Babel locales used for formats: a country for each language.
FORMAT_LOCALES = {"sv": "sv_SE", "nb": "nb_NO", "fi": "fi_FI", "en": "en_GB"}
ALIASES = {"no": "nb", "nn": "nb", "se": "sv"}
ZONE_LANGUAGE = {
    "Europe/Stockholm": "sv",
    "Europe/Oslo": "nb",
    "Europe/Helsinki": "fi",
    "Europe/Mariehamn": "sv",
}
CATALOGUES = Path(__file__).parent / "locales"
ENGLISH = "en"
# A sign of letters (SEK, kr) is kept apart from the digits, as CLDR's currency spacing says
# and Babel does not: "SEK 499.00", not "SEK499.00".
_SPACE = "\xa0"


def minor_units(currency: str) -> int:
    """How many decimals the currency's minor unit has (SEK 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(currency))


def format_money(minor: int, currency: str, language: str = ENGLISH, *, symbol: bool = True) -> str:
    """An amount of ``minor`` units of ``currency`` as a person reads it in ``language`` (one
    of ``LANGUAGES``): ``format_money(49900, "SEK")`` is ``SEK 499.00``, in Swedish
    ``499,00 kr``; ``format_money(500, "JPY")`` is ``JP¥500``. Without the ``symbol`` (a
    table column whose heading names the currency): ``499.00``.

    Babel lays out each (currency, language) once (``_layout``); the amounts are then written
    into that layout, which costs ~1 µs instead of Babel's ~20 (every award's explanation
    names an amount, so the import formats one per purchase)."""
    layout = _layout(currency, language, symbol)
    if layout is None:
        return _babel_money(minor, currency, language, symbol=symbol)
    return layout.write(minor)


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where Babel puts the digits of an amount: text before and after them (sign, symbol,
    minus), the group and decimal separators and the number of decimals."""

    decimals: int
    group: str
    point: str
    before: tuple[str, str]  # (positive, negative)
    after: tuple[str, str]

    def write(self, minor: int) -> str:
        negative = minor < 0
        whole, part = divmod(abs(minor), 10**self.decimals)
        digits = f"{whole:,}".replace(",", self.group)
        if self.decimals:
            digits += self.point + f"{part:0{self.decimals}d}"
        return self.before[negative] + digits + self.after[negative]


_PROBE = 1234567  # whole units: groups of three on either side of a separator


@lru_cache(maxsize=256)
def _layout(currency: str, language: str, symbol: bool) -> _Layout | None:
    """The layout Babel gives this currency in this language, read off two probes (a positive
    and a negative amount), or None when the probes do not come back exactly as the layout
    would write them (then every amount goes through Babel)."""
    decimals = minor_units(currency)
    probe = _PROBE * 10**decimals + (10**decimals - 1) // 9 * 8  # 1,234,567.88 for SEK
    before: list[str] = []
    after: list[str] = []
    separators: tuple[str, str] | None = None
    for amount in (probe, -probe):
        text = _babel_money(amount, currency, language, symbol=symbol)
        digits = [i for i, c in enumerate(text) if c.isdigit()]
        if not digits:
            return None
        first, last = digits[0], digits[-1]
        body = text[first : last + 1]
        # the first separator is the group's (between "1" and "234"), the decimal point is the
        # character before the last ``decimals`` digits
        group = body[1]
        point = body[-decimals - 1] if decimals else ""
        if separators is not None and separators != (group, point):
            return None
        separators = (group, point)
        before.append(text[:first])
        after.append(text[last + 1 :])
    assert separators is not None
    layout = _Layout(
        decimals, separators[0], separators[1], (before[0], before[1]), (after[0], after[1])
    )
    for amount in (probe, -probe, 0, 5, -5, 10**decimals, 999 * 10**decimals + 1):
        if layout.write(amount) != _babel_money(amount, currency, language, symbol=symbol):
            return None
    return layout


def _babel_money(minor: int, currency: str, language: str, *, symbol: bool) -> str:
    locale = _format_locale(language)
    amount = Decimal(minor).scaleb(-minor_units(currency))
    if not symbol:  # the locale's number pattern; Babel sets the currency's decimals
        return str(format_currency(amount, currency, format="#,##0.00", locale=locale))
    text = str(format_currency(amount, currency, locale=locale))
    sign = str(get_currency_symbol(currency, locale=locale))
    at = text.find(sign)
    if at < 0 or not sign:
        return text
    end = at + len(sign)
    if sign[-1].isalpha() and end < len(text) and text[end].isdigit():
        text = text[:end] + _SPACE + text[end:]
    if sign[0].isalpha() and at > 0 and text[at - 1].isdigit():
        text = text[:at] + _SPACE + text[at:]
    return text


@lru_cache(maxsize=len(LANGUAGES))
def _format_locale(language: str) -> Locale:
    return Locale.parse(FORMAT_LOCALES.get(language, FORMAT_LOCALES[ENGLISH]))


def language_of(locale: str | None, *, club_timezone: str | None = None) -> str:
    """The language to speak to a member with ``locale`` (None: the club's language)."""
    if locale:
        base = locale.replace("_", "-").split("-")[0].lower()
        base = ALIASES.get(base, base)
        if base in LANGUAGES:
            return base
    if club_timezone and club_timezone in ZONE_LANGUAGE:
        return ZONE_LANGUAGE[club_timezone]
    return "en"


class Texts:
    """Sentences and formats for one language."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = Locale.parse(FORMAT_LOCALES[language])
        self.messages = _catalogue(language)

    def __call__(self, message: str, **values: object) -> str:
        """The sentence ``message`` (English, the catalogue's msgid) in this language, with
        ``{name}`` placeholders filled."""
        found = self.messages.get(message)
        text = found if isinstance(found, str) and found else message
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, **values: object) -> str:
        forms = self.messages.get((singular, plural))
        text = singular if n == 1 else plural
        if isinstance(forms, tuple) and forms:
            index = int(self.locale.plural_form(n) != "one") if len(forms) > 1 else 0
            text = str(forms[min(index, len(forms) - 1)])
        return text.format(n=self.number(n), **values)

    def number(self, value: int | Decimal) -> str:
        return str(format_decimal(value, locale=self.locale))

    def money(self, minor: int, currency: str) -> str:
        return format_money(minor, currency, self.language)

    def date(self, value: date | datetime, timezone: str | None = None) -> str:
        if isinstance(value, datetime):
            value = value.astimezone(ZoneInfo(timezone)) if timezone else value
            value = value.date()
        return str(format_date(value, format="medium", locale=self.locale))


@lru_cache(maxsize=len(LANGUAGES))
def texts(language: str) -> Texts:
    return Texts(language if language in LANGUAGES else "en")


def _catalogue(language: str) -> dict[object, object]:
    path = CATALOGUES / language / "LC_MESSAGES" / "lojal.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=FORMAT_LOCALES[language])
    messages: dict[object, object] = {}
    for message in catalogue:
        if not message.id or not message.string or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            messages[message.id] = tuple(message.string)
        else:
            messages[message.id] = message.string
    return messages
