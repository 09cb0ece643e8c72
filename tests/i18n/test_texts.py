"""The member's language: picked from their locale (or the club's), numbers, money and dates
in that language's conventions, sentences from its catalogue."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from lojal.i18n import LANGUAGES, language_of, texts


@pytest.mark.parametrize(
    ("locale", "zone", "expected"),
    [
        ("sv-SE", None, "sv"),
        ("sv_FI", None, "sv"),
        ("nb-NO", None, "nb"),
        ("no", None, "nb"),
        ("nn-NO", None, "nb"),
        ("fi", None, "fi"),
        ("en-US", None, "en"),
        ("de-DE", "Europe/Stockholm", "sv"),
        (None, "Europe/Oslo", "nb"),
        (None, "Europe/Helsinki", "fi"),
        (None, "America/New_York", "en"),
        ("", None, "en"),
    ],
)
def test_the_language_comes_from_the_locale_then_the_club(
    locale: str | None, zone: str | None, expected: str
) -> None:
    assert language_of(locale, club_timezone=zone) == expected


def test_numbers_money_and_dates_follow_the_language() -> None:
    sv, nb, fi, en = (texts(lang) for lang in ("sv", "nb", "fi", "en"))
    assert sv.number(1234567) == "1\xa0234\xa0567"
    assert en.number(1234567) == "1,234,567"
    assert sv.money(1250, "SEK") == "12,50\xa0kr"
    assert en.money(1250, "SEK").replace("\xa0", " ") in ("SEK 12.50", "SEK12.50")
    assert fi.date(date(2026, 12, 31)) == "31.12.2026"
    assert nb.date(date(2026, 12, 31)).startswith("31. des")
    # a time is shown as the club's local date: 23:30 UTC on 31 Dec is 1 Jan in Stockholm
    assert sv.date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "Europe/Stockholm").startswith(
        "1 jan"
    )


def test_every_language_has_texts() -> None:
    for language in LANGUAGES:
        t = texts(language)
        assert t("{n} points", n="5")
        assert t.plural("{n} point", "{n} points", 1)
