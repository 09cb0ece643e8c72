"""The pure parts of referrals: codes people can read aloud, links, the canonical forms the
self-referral guards compare, and the programme file's `referrals` section."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lojal.program import service as program_service
from lojal.program.errors import InvalidProgram
from lojal.referrals import codes, guards
from lojal.referrals.guards import Fingerprint
from tests.conftest import DEFAULT_PROGRAM

REFERRALS: dict[str, Any] = {
    "advocate_points": 500,
    "referee_points": 250,
    "link_base_url": "https://shop.example/join",
}


def test_codes_use_no_character_people_confuse() -> None:
    for ch in "0O1IL":
        assert ch not in codes.ALPHABET
    drawn = {codes.new_code() for _ in range(2000)}
    assert len(drawn) == 2000
    assert all(len(c) == codes.LENGTH and set(c) <= set(codes.ALPHABET) for c in drawn)


@given(st.text(alphabet=codes.ALPHABET, min_size=8, max_size=8))
def test_a_code_is_read_back_whatever_its_case_spaces_and_dashes(code: str) -> None:
    typed = f" {code[:4].lower()}-{code[4:]} "
    assert codes.normalise_code(typed) == code


@pytest.mark.parametrize("typed", ["", "ABC", "K7M2Q9XD1", "K7M2Q9X0", "K7M2Q9XI", "K7M2Q9X!"])
def test_what_cannot_be_a_code_is_unknown(typed: str) -> None:
    assert codes.normalise_code(typed) is None


def test_links_append_the_code_or_fill_in_the_template() -> None:
    assert codes.link("https://shop.example/join", "K7M2Q9XD") == (
        "https://shop.example/join/K7M2Q9XD"
    )
    assert codes.link("https://shop.example/join/", "K7M2Q9XD") == (
        "https://shop.example/join/K7M2Q9XD"
    )
    assert codes.link("https://shop.example/?ref={code}&src=club", "K7M2Q9XD") == (
        "https://shop.example/?ref=K7M2Q9XD&src=club"
    )


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("anna.berg@gmail.com", "annaberg@gmail.com", True),
        ("Anna.Berg+club@gmail.com", "annaberg@googlemail.com", True),
        ("anna+club@example.se", "anna@example.se", True),
        ("anna.berg@example.se", "annaberg@example.se", False),  # dots matter outside Gmail
        ("anna@example.se", "anna@example.com", False),
    ],
)
def test_one_mailbox_many_spellings(a: str, b: str, same: bool) -> None:
    assert (guards.mailbox(a) == guards.mailbox(b)) is same


@given(
    local=st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=12),
    dots=st.lists(st.integers(min_value=1, max_value=11), max_size=3),
    tag=st.text(alphabet=string.ascii_lowercase + string.digits, max_size=8),
)
def test_gmail_dots_and_tags_never_make_a_new_mailbox(
    local: str, dots: list[int], tag: str
) -> None:
    dotted = local
    for i in sorted({d for d in dots if d < len(local)}, reverse=True):
        dotted = dotted[:i] + "." + dotted[i:]
    variant = dotted.upper() + (f"+{tag}" if tag else "") + "@GoogleMail.com"
    assert guards.mailbox(variant) == guards.mailbox(f"{local}@gmail.com")


def test_one_household_written_as_text_or_as_fields() -> None:
    text = guards.household("Storgatan 1, 114 55 Stockholm")
    fields = guards.household(
        {"street": "STORGATAN 1", "postal_code": "11455", "city": "Stockholm", "country": "SE"}
    )
    assert text == fields == "storgatan111455stockholm"
    assert guards.household("Storgatan 1 lgh 1201, 11455 Stockholm") != text
    assert guards.household("Åvägen 3, 41251 Göteborg") == guards.household(
        "avagen 3 41251 goteborg"
    )
    assert guards.household("1") is None
    assert guards.household(42) is None
    assert guards.household(None) is None


@pytest.mark.parametrize(
    ("advocate", "referee", "reason"),
    [
        ({"emails": ["a.nna@gmail.com"]}, {"emails": ["anna+x@gmail.com"]}, "shared_email"),
        ({"phones": ["+46701234567"]}, {"phones": ["+46701234567"]}, "shared_phone"),
        ({"cards": ["9123456789012345"]}, {"cards": ["9123456789012345"]}, "shared_card"),
        ({"address": "Storgatan 1, Sthlm"}, {"address": "storgatan 1 sthlm"}, "shared_address"),
        ({"emails": ["anna@example.se"]}, {"emails": ["bo@example.se"]}, None),
        ({"phones": ["+46701234567"]}, {"phones": ["+46701234568"]}, None),
        ({}, {}, None),
    ],
)
def test_the_guard_names_what_the_two_share(
    advocate: dict[str, Any], referee: dict[str, Any], reason: str | None
) -> None:
    def fingerprint(data: dict[str, Any]) -> Fingerprint:
        identities = [("email", e) for e in data.get("emails", [])]
        identities += [("phone", p) for p in data.get("phones", [])]
        identities += [("card", c) for c in data.get("cards", [])]
        attributes = {"address": data["address"]} if "address" in data else {}
        return Fingerprint.of(identities, attributes)

    assert guards.shared(fingerprint(advocate), fingerprint(referee)) == reason


def _program(**referrals: Any) -> dict[str, Any]:
    return {**DEFAULT_PROGRAM, "referrals": {**REFERRALS, **referrals}}


def test_a_programme_without_referrals_has_none() -> None:
    assert program_service.validate(dict(DEFAULT_PROGRAM)).referrals is None


def test_the_referrals_section_is_read_with_its_defaults() -> None:
    config = program_service.validate(_program(caps={"month": 5, "year": 20}))
    assert config.referrals is not None
    assert config.referrals.caps == {"month": 5, "year": 20}
    assert config.referrals.min_spend_minor == 0
    assert config.referrals.rewards_pending is True
    assert config.referrals.claim_days == 30


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"advocate_points": -1}, "referrals.advocate_points"),
        ({"referee_points": "many"}, "referrals.referee_points"),
        ({"min_spend_minor": -100}, "referrals.min_spend_minor"),
        ({"caps": {"month": 0}}, "referrals.caps.month"),
        ({"caps": {"fortnight": 3}}, "referrals.caps.fortnight"),
        ({"link_base_url": "shop.example/join"}, "referrals.link_base_url"),
        ({"link_base_url": "ftp://shop.example/join"}, "referrals.link_base_url"),
        ({"rewards_pending": "sometimes"}, "referrals.rewards_pending"),
        ({"claim_days": -1}, "referrals.claim_days"),
        ({"surprise": 1}, "referrals.surprise"),
    ],
)
def test_a_bad_referrals_section_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidProgram) as caught:
        program_service.validate(_program(**change))
    assert caught.value.field is not None
    assert caught.value.field.startswith(field)


def test_the_referrals_section_needs_its_points_and_link() -> None:
    for missing in ("advocate_points", "referee_points", "link_base_url"):
        data = _program()
        del data["referrals"][missing]
        with pytest.raises(InvalidProgram) as caught:
            program_service.validate(data)
        assert caught.value.field == f"referrals.{missing}"
