"""Coupon codes: the alphabet has no look-alikes, every campaign has at least 10^12 possible
codes, a code is the same however it is typed, and the check character catches every single
wrong character and every swap of neighbours."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lojal.coupons import codes

body = st.text(alphabet=codes.ALPHABET, min_size=1, max_size=codes.MAX_CODE - 1)


def test_the_alphabet_has_no_characters_people_confuse() -> None:
    assert len(codes.ALPHABET) == len(set(codes.ALPHABET)) == 31
    assert not set("01OIL") & set(codes.ALPHABET)
    assert set(codes.ALPHABET) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def test_every_campaign_has_at_least_a_trillion_possible_codes() -> None:
    assert codes.possible_codes(codes.MIN_LENGTH) >= 10**12
    assert codes.possible_codes(codes.MIN_LENGTH - 1) < 10**12


def test_a_code_is_the_same_however_it_is_typed() -> None:
    assert codes.normalise("abcd-efgh") == codes.normalise("ABCD EFGH") == "ABCDEFGH"
    assert codes.normalise(" summer26 ") == "SUMMER26"
    assert codes.display("ABCDEFGHJK") == "ABCD-EFGH-JK"


@given(body)
def test_a_body_with_its_check_character_is_well_formed(text: str) -> None:
    code = text + codes.check_character(text)
    assert codes.is_well_formed(code)
    assert codes.with_checks([text]) == [code]
    assert codes.is_well_formed(codes.normalise(codes.display(code).lower()))


@given(body, st.data())
def test_every_single_wrong_character_is_caught(text: str, data: st.DataObject) -> None:
    code = text + codes.check_character(text)
    i = data.draw(st.integers(0, len(code) - 1))
    wrong = data.draw(st.sampled_from([c for c in codes.ALPHABET if c != code[i]]))
    assert not codes.is_well_formed(code[:i] + wrong + code[i + 1 :])


@given(body, st.data())
def test_every_swap_of_neighbours_is_caught(text: str, data: st.DataObject) -> None:
    code = text + codes.check_character(text)
    pairs = [i for i in range(len(code) - 1) if code[i] != code[i + 1]]
    if not pairs:
        return
    i = data.draw(st.sampled_from(pairs))
    swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
    assert not codes.is_well_formed(swapped)


@given(st.text(min_size=1, max_size=40))
def test_anything_outside_the_alphabet_is_not_a_checked_code(text: str) -> None:
    if not codes.in_alphabet(text):
        assert not codes.is_well_formed(text)


def test_generated_codes_have_the_shape_of_their_campaign() -> None:
    batch = codes.generate(2000, length=10, prefix="SUM")
    assert all(len(c) == 3 + 10 + 1 and c.startswith("SUM") for c in batch)
    assert all(codes.is_well_formed(c) for c in batch)
    plain = codes.generate(100, length=12, check=False)
    assert all(len(c) == 12 and codes.in_alphabet(c) for c in plain)


def test_generated_characters_are_uniform_over_the_alphabet() -> None:
    # 310,000 draws, 10,000 expected per character; a biased mapping (byte % 31 without
    # rejection) would give the first 8 characters ~12 % more
    text = codes.random_characters(310_000)
    counts = [text.count(ch) for ch in codes.ALPHABET]
    assert max(counts) < 10_600
    assert min(counts) > 9_400


def test_a_million_codes_hardly_ever_repeat() -> None:
    batch = codes.generate(100_000, length=10)
    assert len(set(batch)) == len(batch)
