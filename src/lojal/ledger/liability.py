"""Reading the ledger for IFRS 15 (``lojal.ledger.breakage`` computes; this only reads):
the cohorts of points by the club's month they were earned in, what became of them month by
month, and the price of the members' purchases of each month.

A cohort is every lot earned in one local month, except the lots of staff adjustments (no
sale paid for them, so no price is allocated to them). Its member-side postings, by the
month of their entry, are:

* ``earn``: issued (the lots' points), and ``merge``, whose legs move a lot to another member
  within the same cohort and so add up to nothing;
* ``spend``: redeemed; ``expire``: expired;
* ``clawback`` (a return) and ``adjust`` (a staff correction taking points): taken back.

``activate`` moves points between a lot's pending and available, which changes nothing here.
The price is the members' purchases of the month in the club's currency, before returns
(a return takes its points back, which lowers the cohort's points, not its allocation).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, case, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from lojal.activities.models import Purchase
from lojal.calendar import add_months, local_day, local_midnight
from lojal.i18n import minor_units
from lojal.ledger.breakage import Cohort, MonthFigures, RateEstimate, estimate_rates, recognise
from lojal.ledger.entries import MEMBER_ACCOUNTS
from lojal.ledger.models import JournalEntry, PointLot, Posting

# The entries that move points out of (or, merges, between) the lots of a cohort.
MOVES = ("spend", "expire", "clawback", "adjust", "merge")


@dataclass(frozen=True, slots=True)
class Liability:
    """Month by month from the first cohort: the months (their first days), the rate
    estimates and the IFRS 15 figures, amounts in the currency's minor units."""

    months: list[date]
    cohorts: list[Cohort]
    rates: list[RateEstimate]
    figures: list[MonthFigures]

    def index(self, month: date) -> int | None:
        try:
            return self.months.index(month)
        except ValueError:
            return None


def _month_of(
    column: InstrumentedAttribute[datetime], bounds: list[datetime]
) -> ColumnElement[int]:
    """The index of the month a moment falls in (``bounds``: the starts of months 1..n-1),
    as nested halvings: about log2(n) comparisons a row instead of n."""

    def part(low: int, high: int) -> ColumnElement[int]:
        # the months low..high; bounds[i] starts month i + 1
        if low == high:
            return literal(low, Integer)
        middle = (low + high + 1) // 2
        return case((column < bounds[middle - 1], part(low, middle - 1)), else_=part(middle, high))

    return part(0, len(bounds)).cast(Integer) if bounds else literal(0, Integer)


def first_month(session: Session, zone: ZoneInfo) -> date | None:
    first = session.scalar(select(func.min(PointLot.earned_at)))
    return None if first is None else local_day(first, zone).replace(day=1)


Mark = tuple[object, ...]


def mark(session: Session) -> Mark:
    """How far the ledger and the purchases have got: the last entry (its id and natural key),
    the last posting's id, the last purchase (its id and order id) — primary-key probes. The
    ledger only appends, so figures read at one mark stay true until it moves."""
    entry = session.execute(
        select(JournalEntry.id, JournalEntry.key).order_by(JournalEntry.id.desc()).limit(1)
    ).first()
    purchase = session.execute(
        select(Purchase.id, Purchase.order_id).order_by(Purchase.id.desc()).limit(1)
    ).first()
    posting = session.scalar(select(func.max(Posting.id)))
    return (tuple(entry or ()), posting, tuple(purchase or ()))


# The last figures read, per database and question, with the mark they were read at: a page
# asked again before anything new is recorded answers from here. A few entries, each small.
_KEPT: OrderedDict[tuple[object, ...], tuple[Mark, Liability]] = OrderedDict()
_KEEP = 16
_lock = threading.Lock()


def read_kept(
    session: Session, *, until: date, timezone: str, currency: str, point_value: Decimal
) -> Liability:
    """``read``, answered from the figures kept at the same mark when there are (the
    dashboard asks this on every render; the mark costs three index probes)."""
    key = (
        str(session.get_bind().engine.url),
        until.replace(day=1),
        timezone,
        currency,
        point_value,
    )
    now = mark(session)
    with _lock:
        kept = _KEPT.get(key)
    if kept is not None and kept[0] == now:
        return kept[1]
    found = read(
        session, until=until, timezone=timezone, currency=currency, point_value=point_value
    )
    with _lock:
        _KEPT[key] = (now, found)
        _KEPT.move_to_end(key)
        while len(_KEPT) > _KEEP:
            _KEPT.popitem(last=False)
    return found


def read(
    session: Session, *, until: date, timezone: str, currency: str, point_value: Decimal
) -> Liability:
    """The figures of every month from the first lot's to ``until``'s (inclusive)."""
    zone = ZoneInfo(timezone)
    last = until.replace(day=1)
    start = first_month(session, zone) or last
    start = min(start, last)
    months = []
    month = start
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    bounds = [local_midnight(m, zone) for m in months[1:]]
    ends_at = local_midnight(add_months(last, 1), zone)
    origin = aliased(JournalEntry)
    cohort_of = _month_of(PointLot.earned_at, bounds)
    month_of = _month_of(JournalEntry.effective_at, bounds)
    n = len(months)
    # Issued: the earned lots' points (read from the lots, not from their postings: the
    # ledger's many earn and activate postings need not be read at all).
    issued: dict[int, int] = defaultdict(int)
    for cohort, points in session.execute(
        select(cohort_of, func.sum(PointLot.points))
        .join(origin, origin.id == PointLot.entry_id)
        .where(origin.kind == "earn", PointLot.earned_at < ends_at)
        .group_by(cohort_of)
    ).all():
        issued[int(cohort)] += int(points)
    # What became of them: the member-side postings of the other kinds, on the lots of sales.
    rows = session.execute(
        select(cohort_of, month_of, JournalEntry.kind, func.sum(Posting.amount))
        .select_from(JournalEntry)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(PointLot, PointLot.id == Posting.lot_id)
        .join(origin, origin.id == PointLot.entry_id)
        .where(
            JournalEntry.kind.in_(MOVES),
            JournalEntry.effective_at < ends_at,
            Posting.account.in_(MEMBER_ACCOUNTS),
            origin.kind != "adjust",
        )
        .group_by(cohort_of, month_of, JournalEntry.kind)
    ).all()
    flows: dict[str, defaultdict[int, list[int]]] = {
        kind: defaultdict(lambda: [0] * n) for kind in ("redeemed", "expired", "taken_back")
    }
    for cohort, at, kind, amount in rows:
        c, m, points = int(cohort), int(at), int(amount)
        if kind == "merge":
            issued[c] += points
        elif kind == "spend":
            flows["redeemed"][c][m] -= points
        elif kind == "expire":
            flows["expired"][c][m] -= points
        else:
            flows["taken_back"][c][m] -= points
    sales_month = _month_of(Purchase.occurred_at, bounds)
    sales = {
        int(m): int(total or 0)
        for m, total in session.execute(
            select(sales_month, func.sum(Purchase.total_minor))
            .where(
                Purchase.member_id.is_not(None),
                Purchase.currency == currency,
                Purchase.occurred_at >= local_midnight(start, zone),
                Purchase.occurred_at < ends_at,
            )
            .group_by(sales_month)
        ).all()
    }
    cohorts = [
        Cohort(
            month=c,
            issued=issued.get(c, 0),
            sales=sales.get(c, 0),
            redeemed=flows["redeemed"][c],
            expired=flows["expired"][c],
            taken_back=flows["taken_back"][c],
        )
        for c in sorted(set(issued) | set(flows["redeemed"]) | set(flows["expired"]))
    ]
    rates = estimate_rates(cohorts, n)
    worth = point_value * (Decimal(10) ** minor_units(currency))
    figures = recognise(cohorts, rates=[r.rate for r in rates], point_value=worth)
    return Liability(months, cohorts, rates, figures)
