"""Scheduled referral work for ``lojal jobs run``: reward the referrals whose return window
has passed, in batches, one transaction per batch. Safe to run twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from lojal.db.session import transaction
from lojal.referrals import rewards


def run_due(factory: sessionmaker[Session], *, now: datetime, batch: int = 2000) -> int:
    rewarded = 0
    while True:
        with transaction(factory) as session:
            n = rewards.mature_due(session, now=now, limit=batch)
        rewarded += n
        if n < batch:
            return rewarded
