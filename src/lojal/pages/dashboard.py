"""The dashboard's figures over a period, read from what lojal stores (nothing here writes).

Definitions:

* **members**: active members at the end of the period; **new members**: enrolled in the
  period, by enrolment channel;
* **active members**: members with a purchase in the 90 days up to the end of the period;
* **repeat-purchase rate**: of the members who bought in the period, the share who bought at
  least twice;
* **average order value**: purchases in the period, members' and others' (purchases with no
  member) apart;
* **points issued / redeemed / expired** per month of the club's calendar: the programme
  accounts of the ledger (issued is earned less what returns took back; see
  ``lojal.ledger.entries``);
* **points liability**: points members hold now, pending and available, times the programme's
  ``point_value``; **redemption rate**: points spent over points earned, over the club's life;
* **tier distribution**: active members per tier;
* **IFRS 15** (``lojal.ledger.breakage``, read by ``lojal.ledger.liability``): the price of
  the members' purchases allocated to the points they earned, the revenue recognised as points
  are redeemed (with the cumulative catch-up), the contract liability still owed, the expected
  redemption rate re-estimated at each month's end from the closed cohorts, and the expected
  breakage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, func, select
from sqlalchemy.orm import Session

from lojal.activities.models import Purchase
from lojal.calendar import add_months, local_midnight
from lojal.i18n import format_money, minor_units
from lojal.ledger import liability
from lojal.ledger.models import JournalEntry, PointBalance, Posting
from lojal.members.models import CHANNELS, Member
from lojal.pages.charts import Chart, Series
from lojal.program.schemas import ProgramConfig

ACTIVE_DAYS = 90
PROGRAM_ACCOUNTS = ("program_issued", "program_redeemed", "program_expired")


@dataclass(frozen=True, slots=True)
class Period:
    """Days ``start`` to ``end`` (both included) of the club's calendar, as UTC moments."""

    start: date
    end: date
    starts_at: datetime
    ends_at: datetime  # the midnight after ``end``

    @classmethod
    def of(cls, start: date, end: date, timezone: str) -> Period:
        zone = ZoneInfo(timezone)
        return cls(
            start,
            end,
            local_midnight(start, zone),
            local_midnight(end + timedelta(days=1), zone),
        )

    def months(self) -> list[date]:
        first = self.start.replace(day=1)
        out = []
        while first <= self.end:
            out.append(first)
            first = add_months(first, 1)
        return out


@dataclass(frozen=True, slots=True)
class Figure:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Dashboard:
    period: Period
    figures: list[Figure]
    charts: list[Chart]


def _money(minor: int, currency: str) -> str:
    return format_money(minor, currency)


def _points_worth(points: int, config: ProgramConfig) -> int:
    """Points in the currency's minor units (rounded half to even)."""
    worth = Decimal(points) * config.point_value * (Decimal(10) ** minor_units(config.currency))
    return int(worth.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def default_period(today: date) -> tuple[date, date]:
    """The twelve months up to today: from the first of the month eleven months back."""
    return add_months(today.replace(day=1), -11), today


def build(session: Session, *, config: ProgramConfig, period: Period) -> Dashboard:
    currency = config.currency
    members_now = int(
        session.scalar(
            select(func.count(Member.id)).where(
                Member.status == "active", Member.enrolled_at < period.ends_at
            )
        )
        or 0
    )
    by_channel = dict(
        session.execute(
            select(Member.enrolment_channel, func.count(Member.id))
            .where(Member.enrolled_at >= period.starts_at, Member.enrolled_at < period.ends_at)
            .group_by(Member.enrolment_channel)
        ).all()
    )
    new_members = sum(int(v) for v in by_channel.values())
    active = int(
        session.scalar(
            select(func.count(func.distinct(Purchase.member_id))).where(
                Purchase.member_id.is_not(None),
                Purchase.occurred_at >= period.ends_at - timedelta(days=ACTIVE_DAYS),
                Purchase.occurred_at < period.ends_at,
            )
        )
        or 0
    )
    in_period = and_(
        Purchase.occurred_at >= period.starts_at, Purchase.occurred_at < period.ends_at
    )
    per_buyer = (
        select(Purchase.member_id, func.count(Purchase.id).label("n"))
        .where(in_period, Purchase.member_id.is_not(None))
        .group_by(Purchase.member_id)
        .subquery()
    )
    buyers, repeaters = session.execute(
        select(
            func.count(per_buyer.c.member_id),
            func.coalesce(func.sum(case((per_buyer.c.n >= 2, 1), else_=0)), 0),
        )
    ).one()
    is_member = case((Purchase.member_id.is_(None), 0), else_=1)
    aov = {
        int(kind): (int(n), int(total or 0))
        for kind, n, total in session.execute(
            select(is_member, func.count(Purchase.id), func.sum(Purchase.total_minor))
            .where(in_period, Purchase.currency == currency)
            .group_by(is_member)
        ).all()
    }

    def average(kind: int) -> str:
        n, total = aov.get(kind, (0, 0))
        return _money(total // n, currency) if n else "–"

    pending, available, earned, spent = session.execute(
        select(
            func.coalesce(func.sum(PointBalance.pending), 0),
            func.coalesce(func.sum(PointBalance.available), 0),
            func.coalesce(func.sum(PointBalance.lifetime_earned), 0),
            func.coalesce(func.sum(PointBalance.lifetime_spent), 0),
        )
    ).one()
    pending, available = int(pending), int(available)
    months = period.months()
    flows = _monthly_flows(session, period, months, config.timezone)
    tiers = [
        (str(code) if code else "(none)", int(n))
        for code, n in session.execute(
            select(Member.tier, func.count(Member.id))
            .where(Member.status == "active")
            .group_by(Member.tier)
            .order_by(Member.tier)
        ).all()
    ]
    tier_names = {t.code: t.name for t in config.tiers.levels} if config.tiers else {}
    repeat_rate = f"{100 * int(repeaters) / int(buyers):.1f} %" if buyers else "–"
    redemption = f"{100 * int(spent) / int(earned):.1f} %" if earned else "–"
    liability_total = _points_worth(pending + available, config)
    figures = [
        Figure("Members", f"{members_now:,}"),
        Figure("New members", f"{new_members:,}", "enrolled in the period"),
        Figure("Active members", f"{active:,}", f"bought in the last {ACTIVE_DAYS} days"),
        Figure("Repeat-purchase rate", repeat_rate, f"of {int(buyers):,} members who bought"),
        Figure("Average order, members", average(1)),
        Figure("Average order, others", average(0)),
        Figure(
            "Points liability",
            _money(liability_total, currency),
            f"{pending + available:,} {config.point_name} × {config.point_value} {currency}",
        ),
        Figure("Redemption rate", redemption, "points spent of points earned, all time"),
    ]
    labels = [m.strftime("%Y-%m") for m in months]
    charts = [
        Chart(
            "new-members",
            "New members by enrolment channel",
            [c for c in CHANNELS if by_channel.get(c)] or list(CHANNELS[:3]),
            [
                Series(
                    "New members",
                    [int(by_channel.get(c, 0)) for c in CHANNELS if by_channel.get(c)] or [0, 0, 0],
                )
            ],
        ),
        Chart(
            "points",
            f"{config.point_name.capitalize()} issued, redeemed and expired per month",
            labels,
            [
                Series("Issued", [flows[m]["program_issued"] for m in range(len(months))]),
                Series("Redeemed", [flows[m]["program_redeemed"] for m in range(len(months))]),
                Series("Expired", [flows[m]["program_expired"] for m in range(len(months))]),
            ],
        ),
        Chart(
            "liability",
            "Points liability: pending and available",
            ["Pending", "Available"],
            [Series("Value", [_points_worth(pending, config), _points_worth(available, config)])],
            shown=[
                [
                    f"{pending:,} = {_money(_points_worth(pending, config), currency)}",
                    f"{available:,} = {_money(_points_worth(available, config), currency)}",
                ]
            ],
        ),
        Chart(
            "tiers",
            "Active members per tier",
            [tier_names.get(code, code) for code, _ in tiers] or ["(none)"],
            [Series("Members", [n for _, n in tiers] or [0])],
        ),
    ]
    ifrs_figures, ifrs_charts = _ifrs15(session, config, period, months)
    return Dashboard(period, figures + ifrs_figures, charts + ifrs_charts)


def _ifrs15(
    session: Session, config: ProgramConfig, period: Period, months: list[date]
) -> tuple[list[Figure], list[Chart]]:
    """The IFRS 15 figures of the period's months (see ``lojal.ledger.breakage``)."""
    currency = config.currency
    found = liability.read_kept(
        session,
        until=period.end,
        timezone=config.timezone,
        currency=currency,
        point_value=config.point_value,
    )
    shown = [found.index(m) for m in months]
    rows = [found.figures[i] if i is not None else None for i in shown]
    last = found.figures[-1]
    estimate = found.rates[-1]
    unit = 10 ** minor_units(currency)
    worth = config.point_value * unit
    revenue = sum(r.revenue for r in rows if r is not None)
    labels = [m.strftime("%Y-%m") for m in months]
    allocated = [r.allocated if r else 0 for r in rows]
    recognised = [r.revenue if r else 0 for r in rows]
    rates = [float(r.rate) if r else 0.0 for r in rows]
    figures = [
        Figure(
            "Expected redemption rate",
            f"{100 * float(estimate.rate):.1f} %",
            f"from {estimate.closed_cohorts} closed monthly cohorts"
            if estimate.closed_cohorts
            else "no cohort has closed yet: 100 % assumed (no breakage)",
        ),
        Figure(
            "Expected breakage",
            f"{last.expected_breakage:,} {config.point_name}",
            _money(round(last.expected_breakage * worth), currency),
        ),
        Figure(
            "Points revenue (IFRS 15)",
            _money(revenue, currency),
            "recognised in the period as points were redeemed",
        ),
        Figure(
            "Contract liability (IFRS 15)",
            _money(last.contract_liability, currency),
            "allocated to points, not yet recognised",
        ),
    ]
    charts = [
        Chart(
            "points-revenue",
            f"Sales allocated to {config.point_name} and revenue recognised per month (IFRS 15)",
            labels,
            [
                Series("Allocated", [a / unit for a in allocated]),
                Series("Recognised", [r / unit for r in recognised]),
            ],
            shown=[
                [_money(a, currency) for a in allocated],
                [_money(r, currency) for r in recognised],
            ],
        ),
        Chart(
            "redemption-rate",
            "Expected redemption rate at each month's end",
            labels,
            [Series("Expected redemption rate", [100 * r for r in rates])],
            shown=[[f"{100 * r:.1f} %" for r in rates]],
        ),
    ]
    return figures, charts


def _monthly_flows(
    session: Session, period: Period, months: list[date], timezone: str
) -> list[dict[str, int]]:
    """Per month, the movement of each programme account (issued as a positive number)."""
    flows = [dict.fromkeys(PROGRAM_ACCOUNTS, 0) for _ in months]
    if not months:
        return flows
    bounds = [Period.of(m, m, timezone).starts_at for m in months[1:]]
    month = case(
        *((JournalEntry.effective_at < b, i) for i, b in enumerate(bounds)),
        else_=len(months) - 1,
    ).cast(Integer)
    rows = session.execute(
        select(month, Posting.account, func.sum(Posting.amount))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(
            JournalEntry.effective_at >= period.starts_at,
            JournalEntry.effective_at < period.ends_at,
            Posting.account.in_(PROGRAM_ACCOUNTS),
        )
        .group_by(month, Posting.account)
    ).all()
    for index, account, amount in rows:
        sign = -1 if account == "program_issued" else 1
        flows[int(index)][str(account)] += sign * int(amount)
    return flows
