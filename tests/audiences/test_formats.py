"""The platforms' normal forms and their SHA-256, worked out from the literal strings, and the
names an advertising platform would refuse."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from lojal.audiences.formats import (
    Person,
    default_name,
    email_for_google,
    email_for_meta,
    google_member,
    meta_row,
    name_for_matching,
    name_problem,
    phone_for_google,
    phone_for_meta,
)


def h(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_sha256_of_a_published_example() -> None:
    # Meta's own example: "john_smith@gmail.com" hashes to 62a14e44...
    assert meta_row(Person(1, emails=["  John_Smith@gmail.com "]))["EMAIL"] == (
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
    )


def test_emails_phones_and_names_are_normalised_as_each_platform_asks() -> None:
    assert email_for_meta("  Anna.Svensson@Example.SE ") == "anna.svensson@example.se"
    assert email_for_google(" Cloudy.SanFrancisco+Shopping@gmail.com") == (
        "cloudysanfrancisco@gmail.com"
    )
    assert email_for_google("user.name+NYC@Example.com") == "user.name+nyc@example.com"
    assert phone_for_meta("+46701234567") == "46701234567"
    assert phone_for_google("+46701234567") == "+46701234567"
    assert name_for_matching("  Valéry ") == "valéry"
    assert name_for_matching("O'Brien-Smith,") == "obriensmith"
    assert name_for_matching("Anna  Maria") == "anna maria"


def test_a_meta_row_holds_the_hashes_of_the_normalised_values() -> None:
    person = Person(
        7,
        emails=["anna.svensson@example.se", "second@example.se"],
        phones=["+46701234567"],
        first_name="Anna",
        last_name="Öberg",
        country="SE",
    )
    assert meta_row(person) == {
        "EMAIL": h("anna.svensson@example.se"),
        "PHONE": h("46701234567"),
        "FN": h("anna"),
        "LN": h("öberg"),
        "COUNTRY": h("se"),
    }
    assert meta_row(Person(8, phones=["+4791234567"])) == {
        "EMAIL": "",
        "PHONE": h("4791234567"),
        "FN": "",
        "LN": "",
        "COUNTRY": "",
    }


def test_a_google_member_has_each_identifier_once_and_its_consent() -> None:
    person = Person(
        7,
        emails=["kalle.anka+klubb@gmail.com", "kalleanka@gmail.com"],
        phones=["+46701234567"],
        first_name="Kalle",
    )
    assert google_member(person) == {
        "userData": {
            "userIdentifiers": [
                {"emailAddress": h("kalleanka@gmail.com")},
                {"phoneNumber": h("+46701234567")},
            ]
        },
        "consent": {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"},
    }


def test_the_default_name_says_nothing_of_the_members() -> None:
    assert default_name(12, date(2026, 12, 3)) == "lojal segment 12 – 2026-12-03"
    assert name_problem(default_name(12, date(2026, 12, 3))) is None


@pytest.mark.parametrize(
    ("name", "word", "category"),
    [
        ("Diabetics who buy tea", "diabetics", "health"),
        ("Gravida kunder", "gravida", "health"),
        ("High income coffee lovers", "income", "finance"),
        ("Kunder med lån", "lån", "finance"),
        ("Credit-worthy regulars", "credit", "finance"),
        ("Sjukdomar", "sjukdomar", "health"),
    ],
)
def test_names_that_suggest_health_or_finances_are_found(
    name: str, word: str, category: str
) -> None:
    problem = name_problem(name)
    assert problem is not None
    assert (problem.word, problem.category) == (word, category)


@pytest.mark.parametrize("name", ["Stamgäster våren 2026", "Kaffe och bulle", "Richard's friends"])
def test_ordinary_names_pass(name: str) -> None:
    assert name_problem(name) is None
