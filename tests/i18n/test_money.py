"""Money as a person reads it: one formatter (``lojal.i18n.format_money``) for every text,
in major units with the currency's own decimals and its sign — never "49900 SEK"."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.numbers import list_currencies
from hypothesis import given, settings
from hypothesis import strategies as st

from lojal.coupons.discounts import Basket, Offer, compute
from lojal.i18n import LANGUAGES, _babel_money, format_money, minor_units, texts
from lojal.program.schemas import ProgramConfig

SRC = Path(__file__).parents[2] / "src" / "lojal"


def _plain(text: str) -> str:
    return text.replace("\xa0", " ")


@pytest.mark.parametrize(
    ("minor", "currency", "english", "swedish"),
    [
        (49_900, "SEK", "SEK 499.00", "499,00 kr"),
        (5, "SEK", "SEK 0.05", "0,05 kr"),
        (-1_250, "SEK", "-SEK 12.50", "-12,50 kr"),
        (123_456_789, "EUR", "€1,234,567.89", "1 234 567,89 €"),
        (500, "JPY", "JP¥500", "500 JPY"),  # no minor unit: 500 yen
        (1_234_567, "KWD", "KWD 1,234.567", "1 234,567 KWD"),  # three decimals
    ],
)
def test_minor_units_read_as_major_units_with_the_currency(
    minor: int, currency: str, english: str, swedish: str
) -> None:
    assert _plain(format_money(minor, currency)) == english
    assert _plain(format_money(minor, currency, "sv")) == swedish
    assert _plain(texts("sv").money(minor, currency)) == swedish


def test_the_decimals_are_the_currency_s_own() -> None:
    assert (minor_units("SEK"), minor_units("JPY"), minor_units("KWD")) == (2, 0, 3)
    # the programme reads amounts with the same decimals the texts show
    for currency, digits in (("SEK", 2), ("JPY", 0), ("KWD", 3), ("XOF", 0)):
        config = ProgramConfig(name="Club", currency=currency)
        assert config.minor_units == digits
    assert _plain(texts("fi").money(49_900, "SEK")) == "499,00 SEK"
    assert _plain(texts("nb").money(49_900, "NOK")) == "499,00 kr"


def test_a_table_column_can_leave_the_currency_to_its_heading() -> None:
    assert format_money(123_456, "SEK", symbol=False) == "1,234.56"
    assert format_money(1_234, "JPY", symbol=False) == "1,234"
    assert _plain(format_money(123_456, "SEK", "sv", symbol=False)) == "1 234,56"


def test_a_coupon_says_its_amounts_in_money() -> None:
    offer = Offer("amount", amount_minor=2_500, min_spend_minor=50_000)
    refused = compute(offer, Basket(49_900), currency="SEK")
    assert refused.reason == "MinimumSpendNotMet"
    assert _plain(refused.detail) == (
        "the basket is SEK 499.00 but the coupon needs a spend of SEK 500.00"
    )
    assert _plain(compute(offer, Basket(60_000), currency="SEK").detail) == "SEK 25.00 off"
    percent = Offer("percent", percent=10, max_discount_minor=2_000)
    assert _plain(compute(percent, Basket(50_000), currency="SEK").detail) == (
        "10 % off SEK 500.00, at most SEK 20.00"
    )
    assert _plain(compute(Offer("percent", percent=10), Basket(500), currency="JPY").detail) == (
        "10 % off JP¥500"
    )


def _raw_amounts(path: Path) -> list[str]:
    """The f-strings of ``path`` that put an amount in minor units into a text as a bare
    number (``{price_minor}``), not through ``format_money``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.JoinedStr):
            continue
        for part in node.values:
            if (
                isinstance(part, ast.FormattedValue)
                and "_minor" in ast.unparse(part.value)
                and not isinstance(part.value, ast.Call)
            ):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_text_shows_an_amount_in_minor_units() -> None:
    found = [hit for path in sorted(SRC.rglob("*.py")) for hit in _raw_amounts(path)]
    assert found == []


@settings(max_examples=400, deadline=None)
@given(
    minor=st.one_of(st.integers(-(10**15), 10**15), st.integers(-2_000, 2_000)),
    currency=st.sampled_from(sorted(list_currencies())),
    language=st.sampled_from(LANGUAGES),
    symbol=st.booleans(),
)
def test_the_quick_layout_writes_what_babel_writes(
    minor: int, currency: str, language: str, symbol: bool
) -> None:
    """Amounts are written into a layout Babel made once per currency and language; for every
    currency Babel knows, in every language, the text is Babel's own."""
    assert format_money(minor, currency, language, symbol=symbol) == _babel_money(
        minor, currency, language, symbol=symbol
    )
