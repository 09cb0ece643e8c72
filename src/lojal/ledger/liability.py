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

from sqlalchemy import ColumnElement, Integer, case, delete, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from lojal.activities.models import Purchase
from lojal.calendar import add_months, local_day, local_midnight
from lojal.i18n import minor_units
from lojal.ledger.breakage import Cohort, MonthFigures, RateEstimate, estimate_rates, recognise
from lojal.ledger.entries import MEMBER_ACCOUNTS
from lojal.ledger.models import JournalEntry, LedgerMonth, LedgerMonthMark, PointLot, Posting

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
    found = read_stored(
        session, until=until, timezone=timezone, currency=currency, point_value=point_value
    )
    with _lock:
        _KEPT[key] = (now, found)
        _KEPT.move_to_end(key)
        while len(_KEPT) > _KEEP:
            _KEPT.popitem(last=False)
    return found


def _months(start: date, last: date) -> list[date]:
    months = []
    month = start
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


@dataclass(slots=True)
class _Sums:
    """The grouped sums the figures are made of, by month index (``months``)."""

    issued: defaultdict[int, int]
    # (cohort, month, entry kind, member-side amount)
    moves: list[tuple[int, int, str, int]]
    sales: defaultdict[int, int]


def _sums(
    session: Session,
    *,
    months: list[date],
    zone: ZoneInfo,
    currency: str,
    since: datetime | None = None,
    until: datetime,
    marks: tuple[int, int, int] | None = None,
) -> _Sums:
    """The sums over the lots earned, the entries effective and the purchases made in
    [``since``, ``until``) (from the start when ``since`` is None), of the rows up to
    ``marks`` (entry, lot and purchase ids) when given."""
    bounds = [local_midnight(m, zone) for m in months[1:]]
    origin = aliased(JournalEntry)
    cohort_of = _month_of(PointLot.earned_at, bounds)
    month_of = _month_of(JournalEntry.effective_at, bounds)
    # Issued: the earned lots' points (read from the lots, not from their postings: the
    # ledger's many earn and activate postings need not be read at all).
    lots = [origin.kind == "earn", PointLot.earned_at < until]
    moves = [
        JournalEntry.kind.in_(MOVES),
        JournalEntry.effective_at < until,
        Posting.account.in_(MEMBER_ACCOUNTS),
        origin.kind != "adjust",
    ]
    purchases = [
        Purchase.member_id.is_not(None),
        Purchase.currency == currency,
        Purchase.occurred_at >= local_midnight(months[0], zone),
        Purchase.occurred_at < until,
    ]
    if since is not None:
        lots.append(PointLot.earned_at >= since)
        moves.append(JournalEntry.effective_at >= since)
        purchases.append(Purchase.occurred_at >= since)
    if marks is not None:
        lots.append(PointLot.id <= marks[1])
        moves.append(JournalEntry.id <= marks[0])
        purchases.append(Purchase.id <= marks[2])
    issued: defaultdict[int, int] = defaultdict(int)
    for cohort, points in session.execute(
        select(cohort_of, func.sum(PointLot.points))
        .join(origin, origin.id == PointLot.entry_id)
        .where(*lots)
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
        .where(*moves)
        .group_by(cohort_of, month_of, JournalEntry.kind)
    ).all()
    sales_month = _month_of(Purchase.occurred_at, bounds)
    sales: defaultdict[int, int] = defaultdict(int)
    for m, total in session.execute(
        select(sales_month, func.sum(Purchase.total_minor)).where(*purchases).group_by(sales_month)
    ).all():
        sales[int(m)] += int(total or 0)
    return _Sums(issued, [(int(c), int(m), str(k), int(a)) for c, m, k, a in rows], sales)


def _figures(months: list[date], sums: _Sums, *, currency: str, point_value: Decimal) -> Liability:
    n = len(months)
    issued = defaultdict(int, sums.issued)
    flows: dict[str, defaultdict[int, list[int]]] = {
        kind: defaultdict(lambda: [0] * n) for kind in ("redeemed", "expired", "taken_back")
    }
    for c, m, kind, points in sums.moves:
        if kind == "merge":
            issued[c] += points
        elif kind == "spend":
            flows["redeemed"][c][m] -= points
        elif kind == "expire":
            flows["expired"][c][m] -= points
        else:
            flows["taken_back"][c][m] -= points
    cohorts = [
        Cohort(
            month=c,
            issued=issued.get(c, 0),
            sales=sums.sales.get(c, 0),
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


def read(
    session: Session, *, until: date, timezone: str, currency: str, point_value: Decimal
) -> Liability:
    """The figures of every month from the first lot's to ``until``'s (inclusive), from the
    whole ledger."""
    zone = ZoneInfo(timezone)
    last = until.replace(day=1)
    start = min(first_month(session, zone) or last, last)
    months = _months(start, last)
    ends_at = local_midnight(add_months(last, 1), zone)
    sums = _sums(session, months=months, zone=zone, currency=currency, until=ends_at)
    return _figures(months, sums, currency=currency, point_value=point_value)


# ------------------------------------------------------------------ stored closed months

# How the stored kinds of moves map to entry kinds (``_figures`` reads entry kinds).
_MEASURES = {"merge": "merged", "spend": "redeemed", "expire": "expired"}
_KINDS = {"merged": "merge", "redeemed": "spend", "expired": "expire"}


def _last_ids(session: Session) -> tuple[int, int, int]:
    return (
        int(session.scalar(select(func.max(JournalEntry.id))) or 0),
        int(session.scalar(select(func.max(PointLot.id))) or 0),
        int(session.scalar(select(func.max(Purchase.id))) or 0),
    )


def store_months(session: Session, *, now: datetime, timezone: str, currency: str) -> int:
    """Replace the stored figures with those of every month before ``now``'s local month, as
    far as the ledger has got (the worker's ``ledger_months`` job). Returns the rows stored.
    Running it twice gives the same rows."""
    zone = ZoneInfo(timezone)
    closed_before = local_day(now, zone).replace(day=1)
    marks = _last_ids(session)
    first = first_month(session, zone)
    session.execute(delete(LedgerMonth))
    rows: list[LedgerMonth] = []
    if first is not None and first < closed_before:
        # cohorts are stored by their own month, even one earned after the closed months
        latest = session.scalar(select(func.max(PointLot.earned_at)))
        assert latest is not None
        months = _months(first, max(local_day(latest, zone).replace(day=1), first))
        sums = _sums(
            session,
            months=months,
            zone=zone,
            currency=currency,
            until=local_midnight(closed_before, zone),
            marks=marks,
        )
        rows += [
            LedgerMonth(measure="issued", cohort=months[c], month=months[c], amount=points)
            for c, points in sums.issued.items()
        ]
        rows += [
            LedgerMonth(
                measure=_MEASURES.get(kind, "taken_back"),
                cohort=months[c],
                month=months[m],
                amount=amount,
            )
            for c, m, kind, amount in sums.moves
        ]
        rows += [
            LedgerMonth(measure="sales", cohort=None, month=months[m], amount=total)
            for m, total in sums.sales.items()
        ]
    session.add_all(rows)
    mark_row = session.get(LedgerMonthMark, 1) or LedgerMonthMark(id=1)
    mark_row.closed_before = closed_before
    mark_row.first_month = first
    mark_row.timezone = timezone
    mark_row.currency = currency
    mark_row.entry_id, mark_row.lot_id, mark_row.purchase_id = marks
    mark_row.stored_at = now
    session.add(mark_row)
    session.flush()
    return len(rows)


def _late(session: Session, stored: LedgerMonthMark, zone: ZoneInfo) -> bool:
    """Whether anything recorded after the figures were stored falls in a closed month (a
    back-dated entry, lot or purchase): primary-key range reads of the new rows only."""
    closed = local_midnight(stored.closed_before, zone)
    return any(
        session.scalar(select(literal(1)).where(where).limit(1)) is not None
        for where in (
            (JournalEntry.id > stored.entry_id) & (JournalEntry.effective_at < closed),
            (PointLot.id > stored.lot_id) & (PointLot.earned_at < closed),
            (Purchase.id > stored.purchase_id) & (Purchase.occurred_at < closed),
        )
    )


def read_stored(
    session: Session, *, until: date, timezone: str, currency: str, point_value: Decimal
) -> Liability:
    """``read``, from the stored closed months plus the open ones read live: the same figures
    (the stored rows are the sums of the rows up to their marks before ``closed_before``; the
    live ones are every row from it). Falls back to ``read`` when nothing is stored for this
    time zone and currency, when ``until`` is a closed month, or when a row recorded since
    falls in a closed month."""
    zone = ZoneInfo(timezone)
    last = until.replace(day=1)
    stored = session.get(LedgerMonthMark, 1)
    if (
        stored is None
        or stored.first_month is None
        or (stored.timezone, stored.currency) != (timezone, currency)
        or last < stored.closed_before
        or first_month(session, zone) != stored.first_month
        or _late(session, stored, zone)
    ):
        return read(
            session, until=until, timezone=timezone, currency=currency, point_value=point_value
        )
    months = _months(stored.first_month, last)
    n = len(months)
    sums = _sums(
        session,
        months=months,
        zone=zone,
        currency=currency,
        since=local_midnight(stored.closed_before, zone),
        until=local_midnight(add_months(last, 1), zone),
    )
    start = stored.first_month

    def index(month: date) -> int:
        # as ``_month_of`` places a moment: before the first month in it, after the last in it
        return min(max((month.year - start.year) * 12 + month.month - start.month, 0), n - 1)

    for row in session.scalars(select(LedgerMonth)):
        if row.measure == "sales":
            sums.sales[index(row.month)] += row.amount
        elif row.measure == "issued":
            assert row.cohort is not None
            sums.issued[index(row.cohort)] += row.amount
        else:
            assert row.cohort is not None
            kind = _KINDS.get(row.measure, "clawback")
            sums.moves.append((index(row.cohort), index(row.month), kind, row.amount))
    return _figures(months, sums, currency=currency, point_value=point_value)
