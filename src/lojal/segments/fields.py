"""What a segment's definition may read: the member's fields, and the fields of each kind of
activity a measure runs over (catalogues of the condition language, ``lojal.conditions``)."""

from __future__ import annotations

from lojal.conditions.fields import Catalogue

# Computed measures: the figures the last refit stored (``lojal.insight``, ``member_scores``),
# absent for a member it did not score (no purchase up to its day, or enrolled since).
INSIGHT = (
    "member.clv_minor",
    "member.p_alive",
    "member.churn_risk",
    "member.expected_purchases",
    "member.rfm.r",
    "member.rfm.f",
    "member.rfm.m",
    "member.rfm.group",
)

MEMBER = Catalogue(
    (
        "member.first_name",
        "member.last_name",
        "member.birth_date",
        "member.locale",
        "member.store_id",
        "member.enrolment_channel",
        "member.enrolled_at",
        "member.tier",
        "member.points",
        "member.points_pending",
        "member.paid_membership",
        "member.referrals",
        "member.referred",
        "member.consent.email",
        "member.consent.sms",
        "member.consent.push",
        "member.consent.ads",
        *INSIGHT,
    ),
    prefixes=("member.attributes.",),
)

_PURCHASE = (
    "purchase.order_id",
    "purchase.channel",
    "purchase.store_id",
    "purchase.total_minor",
)
PURCHASES = Catalogue(_PURCHASE, prefixes=("purchase.attributes.",))
LINES = Catalogue(
    (
        "line.sku",
        "line.name",
        "line.category",
        "line.quantity",
        "line.unit_price_minor",
        "line.total_minor",
        *_PURCHASE,
    ),
    prefixes=("purchase.attributes.",),
)
RETURNS = Catalogue(("return.total_minor", *_PURCHASE))
EVENTS = Catalogue(("event.type", "event.channel"), prefixes=("event.properties.",))

SOURCES: dict[str, Catalogue] = {
    "purchases": PURCHASES,
    "lines": LINES,
    "returns": RETURNS,
    "events": EVENTS,
}
# What sum / avg / min / max may add up, per kind of activity.
NUMBERS: dict[str, tuple[str, ...]] = {
    "purchases": ("purchase.total_minor",),
    "lines": ("line.quantity", "line.unit_price_minor", "line.total_minor"),
    "returns": ("return.total_minor",),
    "events": (),
}
# What distinct may count the different values of.
DISTINCT: dict[str, tuple[str, ...]] = {
    "purchases": ("purchase.order_id", "purchase.channel", "purchase.store_id"),
    "lines": ("line.sku", "line.category", "purchase.order_id", "purchase.store_id"),
    "returns": ("purchase.order_id",),
    "events": ("event.type", "event.channel"),
}

_READS = {
    "member.tier": "tier",
    "member.points": "points",
    "member.points_pending": "points",
    "member.paid_membership": "membership",
    "member.referrals": "referrals",
    "member.referred": "referrals",
}


def member_read(path: str) -> str:
    """The word ``definition.reads`` uses for a member field (``insight``: the stored figures,
    which change at a refit)."""
    if path in INSIGHT:
        return "insight"
    return _READS.get(path, "profile")
