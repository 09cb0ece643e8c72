"""The checks in the transaction: cheap, and none at all when the club has not set them.

* **Spending** (``check_spend``, from ``lojal.ledger.service.spend`` under the member's
  balance lock): refused while the member is on hold after a change of email or phone
  (``fraud.identity_hold_hours``, read from ``members.identity_changed_at``: the member row
  the spend has already loaded), and over a spend limit (``fraud.spend_limits``: one query on
  the member's spend entries of the last day, through a partial index of spends only).
* **Earning** (``earn_window``, from ``lojal.activities.bulk`` for live purchases): a purchase
  over an earn limit is recorded, and its points are held — pending for
  ``fraud.earn_review_days`` more — with an ``earn_velocity`` alert for staff, who release
  them or take them back with a return. A mature programme does not refuse a purchase at the
  till: the customer paid, the receipt is real, and a refusal teaches a fraudster the limit;
  holding the points stops the gain while the sale goes through. One indexed query per batch.
* **Alerts** raised at once: a large manual adjustment (``adjustment_alert``), enrolments
  from one client address (``enrolment_alert``, one indexed count), a live purchase dated
  far back (``backdated_alerts``, no query). Patterns across members (referral rings,
  clusters) are the sweep's (``lojal.fraud.tasks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from lojal.db.driver import Driver
from lojal.fraud import velocity
from lojal.fraud.alerts import NewAlert, raise_alerts
from lojal.fraud.errors import SpendingOnHold, SpendLimitReached
from lojal.fraud.schemas import FraudConfig
from lojal.fraud.velocity import DAY, HOUR, EarnWindow, Used
from lojal.ledger.models import JournalEntry
from lojal.members.models import Member


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_spend(
    session: Session, *, member_id: int, points: int, now: datetime, fraud: FraudConfig
) -> None:
    hold = fraud.identity_hold_hours
    if hold:
        member = session.get(Member, member_id)  # loaded already by the caller
        changed = None if member is None else member.identity_changed_at
        if changed is not None and now < changed + timedelta(hours=hold):
            ends = changed + timedelta(hours=hold)
            raise SpendingOnHold(
                f"spending is on hold until {_when(ends)}: the member's email or phone changed "
                f"at {_when(changed)} (fraud.identity_hold_hours: {hold})",
                until=ends.isoformat(),
            )
    limits = fraud.spend_limits
    if not limits.configured:
        return
    hour = now - HOUR
    in_hour = JournalEntry.recorded_at >= hour
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(JournalEntry.points), 0),
            func.coalesce(func.sum(case((in_hour, 1), else_=0)), 0),
            func.coalesce(func.sum(case((in_hour, JournalEntry.points), else_=0)), 0),
            func.min(JournalEntry.recorded_at),
            func.min(case((in_hour, JournalEntry.recorded_at), else_=None)),
        ).where(
            JournalEntry.member_id == member_id,
            JournalEntry.kind == "spend",
            JournalEntry.recorded_at >= now - DAY,
        )
    ).one()
    used = Used(
        hour_count=int(row[2]),
        hour_points=int(row[3]),
        day_count=int(row[0]),
        day_points=int(row[1]),
    )
    limit = velocity.broken(limits, used, points, section="fraud.spend_limits")
    if limit is None:
        return
    # the window frees up when its oldest spend leaves it
    oldest = row[5] if limit.startswith("fraud.spend_limits.per_hour") else row[4]
    span = HOUR if limit.startswith("fraud.spend_limits.per_hour") else DAY
    if isinstance(oldest, str):  # SQLite through an aggregate: the stored text
        oldest = Driver.of(session, flush=False).read_time(oldest)
    wait = (oldest + span - now).total_seconds() if oldest is not None else span.total_seconds()
    raise SpendLimitReached(
        f"the member has reached a spend limit ({limit}); try again after "
        f"{_when(now + timedelta(seconds=max(1, wait)))}",
        limit=limit,
        retry_after=max(1, int(wait) + 1),
    )


def earn_window(
    db: Driver, fraud: FraudConfig, member_ids: Sequence[int], now: datetime
) -> EarnWindow | None:
    """The earn limits for a batch of purchases, with what the members' purchases of the last
    24 hours earned (one query on ``ix_purchases_member_id_occurred_at``); None when no earn
    limit is set."""
    limits = fraud.earn_limits
    if not limits.configured or not member_ids:
        return None
    hour, day, end = db.time(now - HOUR), db.time(now - DAY), db.time(now + HOUR)
    used: dict[int, Used] = {}
    for row in db.in_chunks(
        "SELECT member_id, COUNT(*), COALESCE(SUM(points), 0), "
        "COALESCE(SUM(CASE WHEN occurred_at >= ? THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN occurred_at >= ? THEN points ELSE 0 END), 0) "
        "FROM purchases WHERE occurred_at >= ? AND occurred_at < ? AND points > 0 "
        "AND member_id IN ({}) "
        "GROUP BY member_id",
        list(member_ids),
        (hour, hour, day, end),
    ):
        used[int(row[0])] = Used(int(row[3]), int(row[4]), int(row[1]), int(row[2]))
    return EarnWindow(limits, now, used)


def adjustment_alert(
    session: Session,
    *,
    fraud: FraudConfig,
    member_id: int,
    entry_id: int,
    points: int,
    reason: str,
    actor: str,
    now: datetime,
) -> None:
    threshold = fraud.alerts.adjustment_points
    if threshold is None or abs(points) < threshold:
        return
    raise_alerts(
        session,
        [
            NewAlert(
                f"large_adjustment:{entry_id}",
                "large_adjustment",
                member_id,
                {
                    "entry_id": entry_id,
                    "points": points,
                    "reason": reason,
                    "by": actor,
                    "threshold": threshold,
                },
            )
        ],
        now=now,
    )


def enrolment_alert(
    session: Session, *, fraud: FraudConfig, member: Member, address: str, now: datetime
) -> None:
    """Many enrolments from one client address in 24 hours: one alert per address and day
    (the key), naming the member whose enrolment reached the threshold."""
    threshold = fraud.alerts.enrolments_per_address
    if threshold is None:
        return
    since = now - DAY
    count = session.scalar(
        select(func.count()).where(Member.enrolment_address == address, Member.enrolled_at >= since)
    )
    if count is None or count < threshold:
        return
    raise_alerts(
        session,
        [
            NewAlert(
                f"enrolments_per_address:{address}:{now.date().isoformat()}",
                "enrolments_per_address",
                member.id,
                {
                    "address": address,
                    "enrolments": int(count),
                    "threshold": threshold,
                    "since": since.isoformat(),
                },
            )
        ],
        now=now,
    )


def backdated_alerts(
    fraud: FraudConfig, now: datetime, purchases: Sequence[tuple[int, str, int, datetime]]
) -> list[NewAlert]:
    """Live purchases (id, order id, member, occurred_at) dated more than
    ``fraud.alerts.backdated_days`` back."""
    days = fraud.alerts.backdated_days
    if days is None:
        return []
    cutoff = now - timedelta(days=days)
    return [
        NewAlert(
            f"backdated_purchase:{purchase_id}",
            "backdated_purchase",
            member_id,
            {
                "purchase_id": purchase_id,
                "order_id": order_id,
                "occurred_at": occurred_at.isoformat(),
                "days": (now - occurred_at).days,
                "threshold_days": days,
            },
        )
        for purchase_id, order_id, member_id, occurred_at in purchases
        if occurred_at < cutoff
    ]
