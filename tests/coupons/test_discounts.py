"""Discount arithmetic: for any basket and any offer the discount is never negative and never
more than the basket; each kind takes off what it says."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lojal.coupons.discounts import Basket, BasketLine, Offer, compute

skus = st.sampled_from(["A", "B", "C"])
lines = st.lists(
    st.builds(
        BasketLine,
        sku=skus,
        amount_minor=st.integers(0, 10**9),
        quantity=st.integers(1, 50),
        category=st.sampled_from([None, "coffee", "tea"]),
    ),
    max_size=8,
)
offers = st.one_of(
    st.builds(
        Offer,
        kind=st.just("amount"),
        amount_minor=st.integers(1, 10**10),
        min_spend_minor=st.none() | st.integers(0, 10**9),
        skus=st.sampled_from([(), ("A",)]),
        categories=st.sampled_from([(), ("coffee",)]),
    ),
    st.builds(
        Offer,
        kind=st.just("percent"),
        percent=st.integers(1, 100),
        max_discount_minor=st.none() | st.integers(1, 10**9),
        categories=st.sampled_from([(), ("tea",)]),
    ),
    st.builds(Offer, kind=st.just("product"), product_sku=skus),
)


@st.composite
def baskets(draw: st.DrawFn) -> Basket:
    items = draw(lines)
    total = sum(line.amount_minor for line in items)
    # the basket total may include what the lines do not show (or less: a basket discount)
    return Basket(total_minor=draw(st.integers(0, total + 10**6)), lines=items)


@given(offers, baskets())
def test_a_discount_is_never_negative_nor_more_than_the_basket(
    offer: Offer, basket: Basket
) -> None:
    discount = compute(offer, basket, currency="SEK")
    assert 0 <= discount.amount_minor <= basket.total_minor
    if not discount.applies:
        assert discount.amount_minor == 0


@given(st.integers(1, 10**9), st.integers(0, 10**9))
def test_an_amount_off_takes_the_amount_or_the_whole_basket(amount: int, total: int) -> None:
    discount = compute(Offer("amount", amount_minor=amount), Basket(total), currency="SEK")
    assert discount.amount_minor == min(amount, total)


@given(st.integers(1, 100), st.integers(0, 10**9))
def test_a_percentage_rounds_down_to_the_minor_unit(percent: int, total: int) -> None:
    discount = compute(Offer("percent", percent=percent), Basket(total), currency="SEK")
    assert discount.amount_minor == total * percent // 100
    assert discount.amount_minor * 100 <= total * percent < (discount.amount_minor + 1) * 100


def test_a_percentage_cap_limits_the_discount() -> None:
    offer = Offer("percent", percent=50, max_discount_minor=10_000)
    assert compute(offer, Basket(100_000), currency="SEK").amount_minor == 10_000
    assert compute(offer, Basket(8_000), currency="SEK").amount_minor == 4_000


def test_a_minimum_spend_is_the_basket_total() -> None:
    offer = Offer("amount", amount_minor=5_000, min_spend_minor=30_000)
    refused = compute(offer, Basket(29_999), currency="SEK")
    assert (refused.reason, refused.amount_minor) == ("MinimumSpendNotMet", 0)
    assert compute(offer, Basket(30_000), currency="SEK").amount_minor == 5_000


def test_an_offer_on_some_categories_counts_only_their_lines() -> None:
    offer = Offer("percent", percent=10, categories=("coffee",))
    basket = Basket(
        20_000,
        [BasketLine("LATTE", 9_000, 2, "coffee"), BasketLine("BUN", 11_000, 1, "bakery")],
    )
    assert compute(offer, basket, currency="SEK").amount_minor == 900
    assert (
        compute(offer, Basket(20_000, [BasketLine("BUN", 20_000)]), currency="SEK").reason
        == "NoEligibleLines"
    )


def test_a_free_product_is_one_unit_of_the_cheapest_matching_line() -> None:
    offer = Offer("product", product_sku="BUN")
    basket = Basket(
        10_000, [BasketLine("BUN", 9_000, 3), BasketLine("BUN", 2_500, 1), BasketLine("X", 100)]
    )
    assert compute(offer, basket, currency="SEK").amount_minor == 2_500
    assert (
        compute(offer, Basket(1_000, [BasketLine("X", 1_000)]), currency="SEK").reason
        == "ProductNotInBasket"
    )
