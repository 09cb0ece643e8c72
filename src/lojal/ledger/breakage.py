"""Points as a performance obligation under IFRS 15: the part of a sale's price that belongs to
the points it earned, the revenue recognised as points are redeemed (with the cumulative
catch-up when the expected redemptions change), and breakage. Pure: values in, values out.

Allocation (IFRS 15.73-80, B39-B43)
-----------------------------------
Points a sale earns are a *material right*, a separate performance obligation. The sale's
price is shared between the goods and the points by their **relative stand-alone selling
prices**::

    stand-alone selling price of the points = points × point value × expected redemption rate
    allocated to the points = price × SSP(points) / (SSP(goods) + SSP(points))

(the goods' SSP defaults to the price itself). IFRS 15 Example 52 (IE267-IE270): a price of
100,000, 10,000 points worth 1, 9,500 expected to be redeemed: SSP(points) = 9,500, and
100,000 × 9,500 / 109,500 = **8,676** goes to the points. ``allocate`` does this.

An amount already allocated may be given instead (``Cohort.allocated``): the worked example
of the programme's specification states 9,000 allocated to 10,000 points with 97 % expected to
be redeemed, a figure its other data do not give by relative SSP (which would be
100,000 × 9,700 / 109,700 = 8,842), so it is an input there. The allocation is made once, at
the sale, and never redone: a new estimate of redemptions changes the *progress*, not the
allocation (IFRS 15.88 and Example 52's second year).

Recognition: the cumulative catch-up (IFRS 15.B46, 15.107, Example 52)
----------------------------------------------------------------------
Revenue is recognised as points are redeemed, in proportion to the points expected to be
redeemed in total, so the expected breakage is recognised along with the redemptions::

    recognised to date = allocated × redeemed to date / expected to be redeemed in total
    revenue of a period = recognised to date − recognised before the period

When the expectation changes, the second line catches up at once. The specification's
example: 9,000 allocated; in year 2, 4,500 redeemed of 9,700 expected: 4,500 / 9,700 × 9,000
= **4,175**; in year 3, 8,500 redeemed of 9,900 now expected: 8,500 / 9,900 × 9,000 − 4,175 =
**3,552** (or **4,140** if 9,200 are expected). ``catch_up`` does this for one pool.

Cohorts and the expected redemption rate
----------------------------------------
A programme issues points every day, so ``recognise`` works per **cohort** (the points issued
in one month, the lots of ``earn`` entries), each allocated once and recognised with the rate
estimated at each month's end. For an open cohort (points still outstanding)::

    expected = rate × issued, kept between redeemed (what already happened) and
               redeemed + outstanding (no more can be redeemed than is left)

A closed cohort (nothing outstanding: every point redeemed, expired or taken back) expects
exactly what was redeemed, so all its allocation is recognised; a cohort expected to redeem
nothing has nothing left to wait for and is recognised in full.

The **expected redemption rate** is re-estimated at each month's end (``estimate_rates``)
from the cohorts closed by then: points redeemed / points issued over them. Until a cohort
has closed there is no history to go by, and the rate is 100 %: no breakage is assumed before
the club's own ledger shows it (the constraint on variable consideration, IFRS 15.56-58,
allows only what is highly probable not to reverse).

**Breakage** is the outstanding points expected never to be redeemed (redeemed + outstanding
− expected, over the open cohorts); its revenue is recognised with the redemptions (above),
not when points expire. The **contract liability** is what is allocated and not yet
recognised.

Amounts are integers of one unit (the pages pass the currency's minor units); results are
rounded half to even to that unit, the cumulative figure first, so the revenues of the periods
always add up to the recognised total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

Number = int | Fraction | Decimal


def _fraction(value: Number) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value)


def round_unit(value: Fraction) -> int:
    """To the nearest unit, halves to even (as ``round``)."""
    return round(value)


@dataclass(frozen=True, slots=True)
class Allocation:
    price: int
    goods_ssp: Fraction
    points_ssp: Fraction
    to_points: int
    to_goods: int


def points_ssp(points: int, *, point_value: Number, expected_rate: Number) -> Fraction:
    """The points' stand-alone selling price: what they are worth, times the share of them
    expected to be redeemed (IFRS 15.B42)."""
    return points * _fraction(point_value) * _fraction(expected_rate)


def allocate(price: int, *, points_ssp: Number, goods_ssp: Number | None = None) -> Allocation:
    """Share ``price`` between the goods and the points by relative stand-alone selling
    prices; the goods' SSP is the price unless given."""
    if price < 0:
        raise ValueError("price: a sale's price is not negative")
    points = _fraction(points_ssp)
    goods = Fraction(price) if goods_ssp is None else _fraction(goods_ssp)
    if points < 0 or goods < 0:
        raise ValueError("points_ssp, goods_ssp: stand-alone selling prices are not negative")
    whole = goods + points
    to_points = round_unit(price * points / whole) if whole else 0
    return Allocation(price, goods, points, to_points, price - to_points)


def recognised_to_date(allocated: Number, *, redeemed: int, expected: Number) -> Fraction:
    """``allocated × redeemed / expected``, all of it once the expected are redeemed (or when
    none are expected)."""
    total = _fraction(allocated)
    wanted = _fraction(expected)
    if redeemed < 0 or wanted < 0:
        raise ValueError("redeemed, expected: point counts are not negative")
    if wanted == 0 or redeemed >= wanted:
        return total
    return total * redeemed / wanted


@dataclass(frozen=True, slots=True)
class Recognition:
    """One period of a pool: the points redeemed to its end, those expected in total then,
    the revenue recognised to date and in the period."""

    redeemed: int
    expected: Fraction
    to_date: int
    revenue: int


def catch_up(allocated: int, progress: Sequence[tuple[int, Number]]) -> list[Recognition]:
    """The revenue of each period of one pool of points: ``progress`` gives, per period, the
    points redeemed to its end and the points then expected to be redeemed in total."""
    out = []
    before = 0
    for redeemed, expected in progress:
        to_date = round_unit(recognised_to_date(allocated, redeemed=redeemed, expected=expected))
        out.append(Recognition(redeemed, _fraction(expected), to_date, to_date - before))
        before = to_date
    return out


# ---------------------------------------------------------------- cohorts over months


@dataclass(frozen=True, slots=True)
class Cohort:
    """The points issued in one month (``month``: its index in the months given to
    ``recognise``), and what became of them month by month.

    ``sales`` is the price of the purchases that earned them (the relative SSP allocation
    uses it) unless ``allocated`` is given. The per-month lists run from month 0 (months
    before the cohort hold zeros): points redeemed, expired, and taken back (returns' clawbacks
    and staff corrections, which lower what was issued rather than being redeemed)."""

    month: int
    issued: int
    sales: int = 0
    allocated: int | None = None
    redeemed: Sequence[int] = field(default_factory=list)
    expired: Sequence[int] = field(default_factory=list)
    taken_back: Sequence[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CohortState:
    issued: int  # net of what was taken back
    redeemed: int
    expired: int

    @property
    def outstanding(self) -> int:
        return self.issued - self.redeemed - self.expired

    @property
    def closed(self) -> bool:
        return self.outstanding <= 0


def _sum_to(values: Sequence[int], month: int) -> int:
    return sum(values[: month + 1])


def state_at(cohort: Cohort, month: int) -> CohortState:
    """The cohort at the end of ``month``."""
    return CohortState(
        cohort.issued - _sum_to(cohort.taken_back, month),
        _sum_to(cohort.redeemed, month),
        _sum_to(cohort.expired, month),
    )


def expected_redeemed(state: CohortState, rate: Number) -> Fraction:
    """The points of a cohort expected to be redeemed in total (see the module docstring)."""
    if state.closed:
        return Fraction(state.redeemed)
    guess = _fraction(rate) * state.issued
    return min(max(guess, Fraction(state.redeemed)), Fraction(state.redeemed + state.outstanding))


@dataclass(frozen=True, slots=True)
class RateEstimate:
    rate: Fraction
    closed_cohorts: int  # 0: no history yet, the rate is the prudent 100 %


def estimate_rates(cohorts: Sequence[Cohort], months: int) -> list[RateEstimate]:
    """At each month's end: points redeemed / points issued over the cohorts closed by then
    (100 % while none has closed)."""
    out = []
    for m in range(months):
        redeemed = issued = closed = 0
        for cohort in cohorts:
            if cohort.month > m:
                continue
            state = state_at(cohort, m)
            if state.closed and state.issued > 0:
                redeemed += state.redeemed
                issued += state.issued
                closed += 1
        out.append(RateEstimate(Fraction(redeemed, issued) if issued else Fraction(1), closed))
    return out


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """A month's figures at its end (amounts in units, points in points)."""

    rate: Fraction  # the expected redemption rate used
    allocated: int  # allocated to the points issued in the month
    revenue: int  # recognised in the month (with the catch-up of earlier cohorts)
    recognised: int  # recognised to date
    contract_liability: int  # allocated to date and not yet recognised
    outstanding: int  # points not yet redeemed, expired or taken back
    expected_breakage: int  # outstanding points expected never to be redeemed


def allocated_of(cohort: Cohort, *, point_value: Number, rate: Number) -> int:
    if cohort.allocated is not None:
        return cohort.allocated
    ssp = points_ssp(cohort.issued, point_value=point_value, expected_rate=rate)
    return allocate(cohort.sales, points_ssp=ssp).to_points


def recognise(
    cohorts: Sequence[Cohort], *, rates: Sequence[Number], point_value: Number
) -> list[MonthFigures]:
    """Month by month (``rates``: the expected redemption rate at each month's end, e.g. from
    ``estimate_rates``): what is allocated, recognised and still owed. A cohort is allocated
    with the rate known when its month began (the previous month's; 100 % for the first)."""
    months = len(rates)
    allocations = {
        id(c): allocated_of(
            c, point_value=point_value, rate=rates[c.month - 1] if c.month > 0 else 1
        )
        for c in cohorts
    }
    out = []
    before = 0
    for m in range(months):
        allocated_to_date = Fraction(0)
        recognised = Fraction(0)
        outstanding = 0
        breakage = Fraction(0)
        allocated_now = 0
        for cohort in cohorts:
            if cohort.month > m:
                continue
            allocation = allocations[id(cohort)]
            if cohort.month == m:
                allocated_now += allocation
            state = state_at(cohort, m)
            expected = expected_redeemed(state, rates[m])
            allocated_to_date += allocation
            recognised += recognised_to_date(allocation, redeemed=state.redeemed, expected=expected)
            if not state.closed:
                outstanding += state.outstanding
                breakage += state.redeemed + state.outstanding - expected
        to_date = round_unit(recognised)
        out.append(
            MonthFigures(
                rate=_fraction(rates[m]),
                allocated=allocated_now,
                revenue=to_date - before,
                recognised=to_date,
                contract_liability=round_unit(allocated_to_date) - to_date,
                outstanding=outstanding,
                expected_breakage=round_unit(breakage),
            )
        )
        before = to_date
    return out
