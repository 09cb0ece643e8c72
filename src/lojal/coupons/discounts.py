"""What a coupon takes off a basket. Pure: integers in minor units in, integers out (and a
detail that says the amounts in the club's ``currency``, as ``lojal.i18n.format_money`` does).

A campaign's *offer* is one of

* ``amount``  a fixed amount off (``amount_minor``), never more than what it applies to;
* ``percent`` a whole percentage off what it applies to, rounded down to the minor unit, and
  at most ``max_discount_minor`` when the campaign caps it;
* ``product`` one unit of a product free (``product_sku``): the price of one unit of the
  cheapest basket line with that sku (``line amount // quantity``, rounded down).

What it applies to is the basket's total, or — when the campaign names ``skus`` or
``categories`` — the sum of the lines that match one of them. A minimum spend is checked
against the basket's total. The discount is never negative and never more than the basket's
total (``tests/coupons/test_discounts.py`` checks both for any basket, by hypothesis).

A refusal is a reason code (the class name of the matching error in ``coupons/errors.py``), so
that a till can show the cashier why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lojal.i18n import format_money

AMOUNT, PERCENT, PRODUCT = "amount", "percent", "product"
OFFER_KINDS = (AMOUNT, PERCENT, PRODUCT)


@dataclass(frozen=True, slots=True)
class BasketLine:
    sku: str
    amount_minor: int  # what the line costs in all (quantity × unit price, less line discounts)
    quantity: int = 1
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Basket:
    total_minor: int
    lines: Sequence[BasketLine] = ()


@dataclass(frozen=True, slots=True)
class Offer:
    kind: str
    amount_minor: int | None = None
    percent: int | None = None
    max_discount_minor: int | None = None
    product_sku: str | None = None
    min_spend_minor: int | None = None
    skus: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Discount:
    """The discount in minor units, or the reason there is none (``reason`` not None)."""

    amount_minor: int
    reason: str | None = None
    detail: str = ""

    @property
    def applies(self) -> bool:
        return self.reason is None


def refused(reason: str, detail: str) -> Discount:
    return Discount(0, reason, detail)


def compute(offer: Offer, basket: Basket, *, currency: str) -> Discount:
    total = max(basket.total_minor, 0)
    if offer.min_spend_minor is not None and total < offer.min_spend_minor:
        return refused(
            "MinimumSpendNotMet",
            f"the basket is {format_money(total, currency)} but the coupon needs a spend of "
            f"{format_money(offer.min_spend_minor, currency)}",
        )
    if offer.kind == PRODUCT:
        return _product(offer, basket, total)
    base = total
    if offer.skus or offer.categories:
        matching = [line for line in basket.lines if _matches(offer, line)]
        if not matching:
            return refused("NoEligibleLines", "no line of the basket is one the coupon is for")
        base = min(sum(max(line.amount_minor, 0) for line in matching), total)
    if offer.kind == AMOUNT:
        amount = min(offer.amount_minor or 0, base)
        return Discount(amount, None, f"{format_money(amount, currency)} off")
    if offer.kind == PERCENT:
        amount = base * (offer.percent or 0) // 100
        if offer.max_discount_minor is not None:
            amount = min(amount, offer.max_discount_minor)
        amount = min(amount, base)
        detail = f"{offer.percent} % off {format_money(base, currency)}"
        if amount < base * (offer.percent or 0) // 100:
            detail += f", at most {format_money(amount, currency)}"
        return Discount(amount, None, detail)
    return refused("CouponNotApplicable", f"unknown offer {offer.kind!r}")


def _product(offer: Offer, basket: Basket, total: int) -> Discount:
    prices = [
        max(line.amount_minor, 0) // line.quantity
        for line in basket.lines
        if line.sku == offer.product_sku and line.quantity > 0
    ]
    if not prices:
        return refused("ProductNotInBasket", f"the basket has no {offer.product_sku!r}")
    amount = min(*prices, total)
    return Discount(amount, None, f"one {offer.product_sku} free")


def _matches(offer: Offer, line: BasketLine) -> bool:
    return line.sku in offer.skus or (
        line.category is not None and line.category in offer.categories
    )
