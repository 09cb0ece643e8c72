"""The stored figures: one row per refit (``insight_fits``: its day, options and model
parameters) and one row per member (``member_scores``: RFM, probability alive, churn risk,
expected purchases, CLV), so that the API, the pages and the segments read precomputed
figures instead of fitting per request.

A refit replaces every member's row in its transaction; the fits stay as the record of what
was fitted when. ``member_scores`` holds numbers only (no personal data): what a merge and an
erasure do to it is in ``insight.merging`` and ``lojal.privacy.erasure``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Double, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from lojal.db.base import Base
from lojal.db.types import Amount, BigIntId, JSONType, UTCDateTime


class InsightFit(Base):
    __tablename__ = "insight_fits"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The figures are as of the end of this local day.
    as_of: Mapped[date] = mapped_column(Date)
    model: Mapped[str] = mapped_column(String(16))  # the purchase model: bgnbd, paretonbd
    months: Mapped[int] = mapped_column(Integer)  # the CLV's horizon
    monthly_discount: Mapped[float] = mapped_column(Double)
    retention_years: Mapped[float] = mapped_column(Double)  # of the simple CLV
    unit_days: Mapped[float] = mapped_column(Double)
    currency: Mapped[str] = mapped_column(String(3))
    members: Mapped[int] = mapped_column(Integer)  # scored
    fitted_members: Mapped[int] = mapped_column(Integer)  # the purchase model was fitted on
    repeat_members: Mapped[int] = mapped_column(Integer)  # the spend model was fitted on
    # {"purchases": {"r": .., "alpha": .., ...}, "spend": {"p": .., "q": .., "gamma": ..}}
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    log_likelihood: Mapped[dict[str, Any]] = mapped_column(JSONType)
    converged: Mapped[bool] = mapped_column(Boolean)
    spend_fallbacks: Mapped[int] = mapped_column(Integer, default=0)


class MemberScore(Base):
    __tablename__ = "member_scores"
    __table_args__ = (
        Index("ix_member_scores_fit_id", "fit_id"),
        Index("ix_member_scores_rfm", "rfm_r", "rfm_fm"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    fit_id: Mapped[int] = mapped_column(ForeignKey("insight_fits.id"))
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rfm_r: Mapped[int] = mapped_column(SmallInteger)
    rfm_f: Mapped[int] = mapped_column(SmallInteger)
    rfm_m: Mapped[int] = mapped_column(SmallInteger)
    rfm_fm: Mapped[int] = mapped_column(SmallInteger)
    rfm_group: Mapped[str] = mapped_column(String(32))
    transactions: Mapped[int] = mapped_column(Integer)  # purchase days up to the fit's day
    revenue_minor: Mapped[int] = mapped_column(Amount)
    first_purchase_on: Mapped[date] = mapped_column(Date)
    last_purchase_on: Mapped[date] = mapped_column(Date)
    p_alive: Mapped[float] = mapped_column(Double)
    churn_risk: Mapped[float] = mapped_column(Double)
    expected_purchases: Mapped[float] = mapped_column(Double)
    expected_spend_minor: Mapped[int] = mapped_column(Amount)
    clv_minor: Mapped[int] = mapped_column(Amount)
    simple_clv_minor: Mapped[int] = mapped_column(Amount)


class RecommendationItem(Base):
    """What a refit learnt of one item (a sku) for the recommendations (``insight.recommend``):
    how many members and baskets held it, how many members bought it again, the typical days
    between two purchases of it. Numbers about items only, no member's data."""

    __tablename__ = "recommendation_items"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    fit_id: Mapped[int] = mapped_column(ForeignKey("insight_fits.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100))
    buyers: Mapped[int] = mapped_column(Integer)
    baskets: Mapped[int] = mapped_column(Integer)
    repeat_buyers: Mapped[int] = mapped_column(Integer)
    # of its buyers' visits after their first purchase of it, the share that held it
    repeat_rate: Mapped[float] = mapped_column(Double)
    # the median of its buyers' median days between two purchases of it (None: nobody re-bought)
    interval_days: Mapped[float | None] = mapped_column(Double)
    # of every basket of the fit, the share that held it: the popularity
    share: Mapped[float] = mapped_column(Double)


class RecommendationPair(Base):
    """Two items bought together (in one member's basket of one local day), the strongest
    pairs of each item: how often, their lift and their cosine (``insight.recommend``)."""

    __tablename__ = "recommendation_pairs"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    other: Mapped[str] = mapped_column(String(64), primary_key=True)
    together: Mapped[int] = mapped_column(Integer)
    lift: Mapped[float] = mapped_column(Double)
    cosine: Mapped[float] = mapped_column(Double)
