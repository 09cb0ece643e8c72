"""Lift: what a journey changed, from the members it treated and the members it held out
(pure: NumPy and SciPy, no database).

Every member of a journey is either *treated* (got its messages) or *held out*
(``lojal.journeys.control``). For each group lojal knows, per member, whether they converted
(0 or 1), how many purchases they made and their revenue (in the club's currency, major
units) over the journey's window. ``lift`` compares the groups on all three:

* **conversion rate** per group, the **absolute lift** (treated − held out, in rate points)
  with the interval of Newcombe (1998), method 10 — the hybrid score interval: the Wilson
  score intervals of the two rates, without continuity correction, combined by square and
  add. It stays within [−1, 1] and behaves near rates of 0 and 1, where the textbook Wald
  interval collapses. The **relative lift** (treated / held out − 1) has the Katz log
  interval: the delta method on the log of the ratio of the rates, with a normal quantile.
* **purchases** and **revenue per member**: the difference of the means with Welch's
  interval (unequal variances, Welch–Satterthwaite degrees of freedom, Student's t
  quantile); the relative lift by the delta method on the log of the ratio of the means
  (normal quantile).
* **incremental revenue** = (treated revenue per member − held-out revenue per member) ×
  treated members, with the Welch interval of the difference scaled the same way: what the
  journey added to the revenue of the members it treated.

A relative lift is ``None`` when the held-out (or treated) rate or mean is not positive: the
ratio has no log. An interval is ``None`` where it cannot be computed — Welch's needs two
members in each group. A group without members is refused (``LiftInvalid``): there is
nothing to compare. The groups can be given member by member (``GroupOutcomes``) or as the
sums a database query returns (``GroupSummary.from_sums``).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from lojal.errors import Invalid

DEFAULT_CONFIDENCE = 0.95
_LOG_MAX = math.log(sys.float_info.max)


class LiftInvalid(Invalid):
    """Outcomes that cannot be compared; ``field`` names the input."""


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]``."""

    low: float
    high: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def width(self) -> float:
        return self.high - self.low


def _check_confidence(confidence: float) -> float:
    value = float(confidence)
    if not 0 < value < 1:
        raise LiftInvalid(
            f"confidence: {confidence} is not between 0 and 1 (e.g. 0.95)", field="confidence"
        )
    return value


def _z(confidence: float) -> float:
    return float(stats.norm.ppf((1 + confidence) / 2))


# ---------------------------------------------------------------- proportions


def wilson_interval(
    successes: int, trials: int, confidence: float = DEFAULT_CONFIDENCE
) -> Interval:
    """The Wilson score interval of a proportion (without continuity correction)."""
    confidence = _check_confidence(confidence)
    if trials <= 0 or not 0 <= successes <= trials:
        raise LiftInvalid(
            f"successes: {successes} of {trials} trials is not a proportion", field="successes"
        )
    z = _z(confidence)
    p = successes / trials
    z2n = z * z / trials
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / trials + z2n / (4 * trials)) / (1 + z2n)
    # the bounds hold p in exact arithmetic; clamping keeps it so when rounding would not
    return Interval(min(max(centre - half, 0.0), p), max(min(centre + half, 1.0), p))


def newcombe_interval(
    successes_1: int,
    trials_1: int,
    successes_2: int,
    trials_2: int,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval:
    """The interval of ``p1 − p2`` by Newcombe's method 10: with the Wilson intervals
    ``(l1, u1)`` and ``(l2, u2)``, ``d − √((p1 − l1)² + (u2 − p2)²)`` to
    ``d + √((u1 − p1)² + (p2 − l2)²)``."""
    first = wilson_interval(successes_1, trials_1, confidence)
    second = wilson_interval(successes_2, trials_2, confidence)
    p1, p2 = successes_1 / trials_1, successes_2 / trials_2
    d = p1 - p2
    below = math.hypot(p1 - first.low, second.high - p2)
    above = math.hypot(first.high - p1, p2 - second.low)
    return Interval(max(d - below, -1.0), min(d + above, 1.0))


# ---------------------------------------------------------------- means


def welch_interval(
    mean_1: float,
    variance_1: float,
    n_1: int,
    mean_2: float,
    variance_2: float,
    n_2: int,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval | None:
    """Welch's interval of ``mean_1 − mean_2`` from the sample means and the sample
    variances (``ddof=1``); None with fewer than two members in a group. When both
    variances are 0 the interval is the difference itself."""
    confidence = _check_confidence(confidence)
    if n_1 < 2 or n_2 < 2:
        return None
    d = mean_1 - mean_2
    v1, v2 = variance_1 / n_1, variance_2 / n_2
    se = math.sqrt(v1 + v2)
    if se == 0:
        return Interval(d, d)
    # Welch–Satterthwaite, (v1 + v2)² / (v1²/(n1 − 1) + v2²/(n2 − 1)), on the shares of
    # v1 + v2 so that tiny variances do not underflow
    a, b = v1 / (v1 + v2), v2 / (v1 + v2)
    df = 1 / (a * a / (n_1 - 1) + b * b / (n_2 - 1))
    half = float(stats.t.ppf((1 + confidence) / 2, df)) * se
    return Interval(d - half, d + half)


def ratio_interval(
    value_1: float,
    se_1: float,
    value_2: float,
    se_2: float,
    confidence: float = DEFAULT_CONFIDENCE,
) -> tuple[float, Interval | None] | None:
    """The relative lift ``value_1 / value_2 − 1`` and its interval by the delta method on
    the log of the ratio: ``se(log r)² ≈ (se_1 / value_1)² + (se_2 / value_2)²``, the
    interval ``r·exp(∓z·se) − 1``. None when either value is not positive (or the ratio
    is too large for a float); the interval is None when it has no upper bound in floats
    (a value so small against its standard error that the ratio could be anything)."""
    confidence = _check_confidence(confidence)
    if not (value_1 > 0 and value_2 > 0):
        return None
    ratio = value_1 / value_2
    if not math.isfinite(ratio):
        return None
    half = _z(confidence) * math.hypot(se_1 / value_1, se_2 / value_2)
    if half > _LOG_MAX:
        return ratio - 1, None
    low, high = ratio * math.exp(-half) - 1, ratio * math.exp(half) - 1
    return ratio - 1, (Interval(low, high) if math.isfinite(high) else None)


# ---------------------------------------------------------------- the groups


def _array(values: ArrayLike, field: str) -> NDArray[np.float64]:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise LiftInvalid(f"{field}: not a list of numbers", field=field) from exc
    if array.ndim != 1:
        raise LiftInvalid(f"{field}: one value per member", field=field)
    if not np.all(np.isfinite(array)):
        raise LiftInvalid(f"{field}: every value must be a finite number", field=field)
    return array


@dataclass(frozen=True)
class GroupOutcomes:
    """One group's outcomes, member by member: ``converted`` 0 or 1, ``purchases`` a
    count, ``revenue`` in major units. Build it with ``GroupOutcomes.of``."""

    converted: NDArray[np.float64]
    purchases: NDArray[np.float64]
    revenue: NDArray[np.float64]

    @classmethod
    def of(
        cls,
        converted: ArrayLike,
        purchases: ArrayLike,
        revenue: ArrayLike,
        *,
        group: str = "treated",
    ) -> GroupOutcomes:
        """The outcomes checked: one of each per member; fields are named ``<group>.…``."""
        conv = _array(converted, f"{group}.converted")
        buys = _array(purchases, f"{group}.purchases")
        money = _array(revenue, f"{group}.revenue")
        if not (conv.size == buys.size == money.size):
            raise LiftInvalid(
                f"{group}: {conv.size} conversions, {buys.size} purchase counts and"
                f" {money.size} revenues; one of each per member",
                field=group,
            )
        if not np.all((conv == 0) | (conv == 1)):
            raise LiftInvalid(
                f"{group}.converted: each value is 0 or 1", field=f"{group}.converted"
            )
        if not np.all((buys >= 0) & (buys == np.floor(buys))):
            raise LiftInvalid(
                f"{group}.purchases: each value is a count (0, 1, 2, ...)",
                field=f"{group}.purchases",
            )
        return cls(converted=conv, purchases=buys, revenue=money)

    @property
    def members(self) -> int:
        return int(self.converted.size)


def _variance(values: NDArray[np.float64]) -> float:
    return float(np.var(values, ddof=1)) if values.size > 1 else 0.0


@dataclass(frozen=True)
class GroupSummary:
    """What the comparison needs of a group: its members, how many converted, and the mean
    and sample variance (``ddof=1``) of purchases and of revenue per member."""

    members: int
    conversions: int
    purchases_mean: float
    purchases_variance: float
    revenue_mean: float
    revenue_variance: float

    def __post_init__(self) -> None:
        if self.members < 0:
            raise LiftInvalid(f"members: {self.members} is negative", field="members")
        if not 0 <= self.conversions <= self.members:
            raise LiftInvalid(
                f"conversions: {self.conversions} of {self.members} members", field="conversions"
            )
        for name in ("purchases_mean", "purchases_variance", "revenue_mean", "revenue_variance"):
            value = getattr(self, name)
            if not math.isfinite(value) or (name.endswith("variance") and value < 0):
                raise LiftInvalid(f"{name}: {value} is not a finite figure", field=name)

    @property
    def conversion_rate(self) -> float:
        return self.conversions / self.members

    @classmethod
    def of(cls, outcomes: GroupOutcomes) -> GroupSummary:
        n = outcomes.members
        return cls(
            members=n,
            conversions=int(outcomes.converted.sum()),
            purchases_mean=float(outcomes.purchases.mean()) if n else 0.0,
            purchases_variance=_variance(outcomes.purchases),
            revenue_mean=float(outcomes.revenue.mean()) if n else 0.0,
            revenue_variance=_variance(outcomes.revenue),
        )

    @classmethod
    def from_sums(
        cls,
        *,
        members: int,
        conversions: int,
        purchases: float,
        purchases_squared: float,
        revenue: float,
        revenue_squared: float,
    ) -> GroupSummary:
        """From the sums a query gives (``COUNT``, ``SUM(converted)``, ``SUM(x)`` and
        ``SUM(x * x)`` per member): variance = (Σx² − (Σx)²/n) / (n − 1), never below 0."""

        def moments(total: float, squares: float) -> tuple[float, float]:
            if members == 0:
                return 0.0, 0.0
            mean = total / members
            if members == 1:
                return mean, 0.0
            return mean, max((squares - total * total / members) / (members - 1), 0.0)

        p_mean, p_var = moments(float(purchases), float(purchases_squared))
        r_mean, r_var = moments(float(revenue), float(revenue_squared))
        return cls(members, conversions, p_mean, p_var, r_mean, r_var)


@dataclass(frozen=True)
class Comparison:
    """One measure in the two groups: ``difference`` = treated − control with its interval,
    ``relative`` = treated / control − 1 with its interval (None when undefined)."""

    treated: float
    control: float
    difference: float
    difference_interval: Interval | None
    relative: float | None
    relative_interval: Interval | None


@dataclass(frozen=True)
class Lift:
    """A journey's treated members against its held-out members. Revenue figures are in
    ``currency``, major units."""

    confidence: float
    currency: str
    treated_members: int
    control_members: int
    conversion: Comparison  # rates, a difference in rate points (0.02 = 2 points)
    purchases: Comparison  # purchases per member
    revenue: Comparison  # revenue per member
    incremental_revenue: float
    incremental_revenue_interval: Interval | None


def _means(
    treated_mean: float,
    treated_variance: float,
    control_mean: float,
    control_variance: float,
    treated: GroupSummary,
    control: GroupSummary,
    confidence: float,
) -> Comparison:
    relative = ratio_interval(
        treated_mean,
        math.sqrt(treated_variance / treated.members),
        control_mean,
        math.sqrt(control_variance / control.members),
        confidence,
    )
    return Comparison(
        treated=treated_mean,
        control=control_mean,
        difference=treated_mean - control_mean,
        difference_interval=welch_interval(
            treated_mean,
            treated_variance,
            treated.members,
            control_mean,
            control_variance,
            control.members,
            confidence,
        ),
        relative=None if relative is None else relative[0],
        relative_interval=None if relative is None else relative[1],
    )


def lift(
    treated: GroupSummary,
    control: GroupSummary,
    *,
    currency: str,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Lift:
    """Compare the treated group with the held-out (control) group."""
    confidence = _check_confidence(confidence)
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise LiftInvalid(
            f"currency: {currency!r} is not an ISO 4217 code such as SEK", field="currency"
        )
    for name, group in (("treated", treated), ("control", control)):
        if group.members <= 0:
            raise LiftInvalid(f"{name}: the group has no members to compare", field=name)
    p1, p2 = treated.conversion_rate, control.conversion_rate
    relative = ratio_interval(
        p1,
        math.sqrt(p1 * (1 - p1) / treated.members),
        p2,
        math.sqrt(p2 * (1 - p2) / control.members),
        confidence,
    )
    conversion = Comparison(
        treated=p1,
        control=p2,
        difference=p1 - p2,
        difference_interval=newcombe_interval(
            treated.conversions, treated.members, control.conversions, control.members, confidence
        ),
        relative=None if relative is None else relative[0],
        relative_interval=None if relative is None else relative[1],
    )
    purchases = _means(
        treated.purchases_mean,
        treated.purchases_variance,
        control.purchases_mean,
        control.purchases_variance,
        treated,
        control,
        confidence,
    )
    revenue = _means(
        treated.revenue_mean,
        treated.revenue_variance,
        control.revenue_mean,
        control.revenue_variance,
        treated,
        control,
        confidence,
    )
    n = treated.members
    per_member = revenue.difference_interval
    return Lift(
        confidence=confidence,
        currency=currency,
        treated_members=treated.members,
        control_members=control.members,
        conversion=conversion,
        purchases=purchases,
        revenue=revenue,
        incremental_revenue=revenue.difference * n,
        incremental_revenue_interval=(
            None if per_member is None else Interval(per_member.low * n, per_member.high * n)
        ),
    )


def lift_of_outcomes(
    treated: GroupOutcomes,
    control: GroupOutcomes,
    *,
    currency: str,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Lift:
    """``lift`` from the outcomes member by member."""
    return lift(
        GroupSummary.of(treated), GroupSummary.of(control), currency=currency, confidence=confidence
    )
