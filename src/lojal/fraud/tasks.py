"""The sweep for patterns across members, set-based (one SQL statement each), run from the
worker's schedule (``lojal.worker.schedule``: every 15 minutes) and by ``lojal fraud sweep``.
It only raises alerts; safe to run twice (each alert has its key).

* **Referral rings**: members who refer each other, directly (A referred B and B referred A)
  or through one more (A → B → C → A). One alert per ring, keyed by its members in order.
* **Referral clusters**: an advocate with ``fraud.alerts.referral_cluster`` or more referees
  enrolled from one client address (one person enrolling "friends" from one device or
  network), or whose email addresses share one domain that is not a common mail provider's
  (``fraud.alerts.common_email_domains``: one person's own domain, made-up addresses). One
  alert per advocate and address or domain. (lojal is told no device id, so there is no
  device cluster.)

Referrals are few next to purchases; the sweep reads those made in the last
``LOOKBACK_DAYS`` days, on their primary key order.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from lojal.fraud.alerts import NewAlert, raise_alerts
from lojal.fraud.schemas import FraudConfig
from lojal.members.models import Member, MemberIdentity
from lojal.referrals.models import Referral

LOOKBACK_DAYS = 90


def sweep(session: Session, *, fraud: FraudConfig, now: datetime) -> int:
    """Raise the alerts of the patterns found; returns how many patterns were seen (alerts
    raised before count again, and are not raised twice)."""
    since = now - timedelta(days=LOOKBACK_DAYS)
    alerts = rings(session, since) + clusters(session, fraud, since)
    raise_alerts(session, alerts, now=now)
    return len(alerts)


def rings(session: Session, since: datetime) -> list[NewAlert]:
    a, b, c = aliased(Referral), aliased(Referral), aliased(Referral)
    two = session.execute(
        select(a.advocate_id, a.referee_id)
        .join(b, (b.advocate_id == a.referee_id) & (b.referee_id == a.advocate_id))
        .where(a.referred_at >= since, a.advocate_id < a.referee_id)
    ).all()
    three = session.execute(
        select(a.advocate_id, a.referee_id, b.referee_id)
        .join(b, b.advocate_id == a.referee_id)
        .join(c, (c.advocate_id == b.referee_id) & (c.referee_id == a.advocate_id))
        .where(
            a.referred_at >= since,
            # each ring once: from its smallest member
            a.advocate_id < a.referee_id,
            a.advocate_id < b.referee_id,
        )
    ).all()
    found = [tuple(int(m) for m in row) for row in [*two, *three]]
    return [
        NewAlert(
            f"referral_ring:{'-'.join(str(m) for m in sorted(ring))}",
            "referral_ring",
            ring[0],
            {"members": list(ring)},
        )
        for ring in found
    ]


def clusters(session: Session, fraud: FraudConfig, since: datetime) -> list[NewAlert]:
    size = fraud.alerts.referral_cluster
    if size is None:
        return []
    rows = session.execute(
        select(Referral.advocate_id, Member.enrolment_address, func.count())
        .join(Member, Member.id == Referral.referee_id)
        .where(Referral.referred_at >= since, Member.enrolment_address.is_not(None))
        .group_by(Referral.advocate_id, Member.enrolment_address)
        .having(func.count() >= size)
    ).all()
    by_address = [
        NewAlert(
            f"referral_cluster:{advocate}:{address}",
            "referral_cluster",
            int(advocate),
            {"address": address, "referees": int(count), "threshold": size},
        )
        for advocate, address, count in rows
    ]
    return by_address + _domain_clusters(session, fraud, since, size)


def _domain_clusters(
    session: Session, fraud: FraudConfig, since: datetime, size: int
) -> list[NewAlert]:
    value = MemberIdentity.value
    # the text after the @ (emails are stored lower-case)
    if session.get_bind().dialect.name == "postgresql":
        domain = func.split_part(value, "@", 2)
    else:
        domain = func.substr(value, func.instr(value, "@") + 1)
    common = [d.lower() for d in fraud.alerts.common_email_domains]
    query = (
        select(Referral.advocate_id, domain, func.count())
        .join(MemberIdentity, MemberIdentity.member_id == Referral.referee_id)
        .where(Referral.referred_at >= since, MemberIdentity.kind == "email")
        .group_by(Referral.advocate_id, domain)
        .having(func.count() >= size)
    )
    if common:
        query = query.where(domain.not_in(common))
    return [
        NewAlert(
            f"referral_cluster:{advocate}:@{name}",
            "referral_cluster",
            int(advocate),
            {"email_domain": name, "referees": int(count), "threshold": size},
        )
        for advocate, name, count in session.execute(query).all()
    ]
