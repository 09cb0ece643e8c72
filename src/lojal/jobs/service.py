"""Scheduled work: ``lojal jobs run``. Each step runs in batches, one transaction per batch,
and is safe to run twice (every entry it writes has a natural key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import Clock
from lojal.coupons import redemptions as coupon_redemptions
from lojal.db.session import transaction
from lojal.ledger import service as ledger
from lojal.web import idempotency

BATCH = 2000


@dataclass
class Summary:
    activated: int = 0
    expired: int = 0
    idempotency_purged: int = 0
    reservations_expired: int = 0


def run_due(factory: sessionmaker[Session], *, clock: Clock, ttl_hours: int = 24) -> Summary:
    summary = Summary()
    now = clock.now()
    while True:
        with transaction(factory) as session:
            n = ledger.activate_due(session, now=now, limit=BATCH)
        summary.activated += n
        if n < BATCH:
            break
    while True:
        with transaction(factory) as session:
            n = ledger.expire_due(session, now=now, limit=BATCH)
        summary.expired += n
        if n < BATCH:
            break
    while True:
        with transaction(factory) as session:
            n = coupon_redemptions.free_expired(session, now=now, limit=BATCH)
        summary.reservations_expired += n
        if n < BATCH:
            break
    with transaction(factory) as session:
        summary.idempotency_purged = idempotency.purge(
            session, older_than=now - timedelta(hours=ttl_hours)
        )
    return summary
