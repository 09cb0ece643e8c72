"""Scheduled work: ``lojal jobs run``. Each step runs in batches, one transaction per batch,
and is safe to run twice (every entry it writes has a natural key)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from lojal import reactions
from lojal.clock import Clock
from lojal.coupons import redemptions as coupon_redemptions
from lojal.db.session import transaction
from lojal.ledger import service as ledger
from lojal.memberships.service import lapse_due
from lojal.referrals import tasks as referrals
from lojal.segments import tasks as segments
from lojal.segments.models import Segment
from lojal.tiers import reviews as tier_reviews
from lojal.web import idempotency

BATCH = 2000


@dataclass
class Summary:
    activated: int = 0
    expired: int = 0
    referrals_rewarded: int = 0
    idempotency_purged: int = 0
    memberships_ended: int = 0
    tiers_reviewed: int = 0
    reservations_expired: int = 0
    segments_swept: int = 0

    def lines(self) -> list[tuple[str, int]]:
        """What the run did, one line per step, for the command line."""
        return [
            ("lots activated", self.activated),
            ("lots expired", self.expired),
            ("referrals rewarded", self.referrals_rewarded),
            ("memberships ended", self.memberships_ended),
            ("tiers reviewed", self.tiers_reviewed),
            ("coupon reservations expired", self.reservations_expired),
            ("segments swept", self.segments_swept),
            ("idempotency records forgotten", self.idempotency_purged),
        ]


def run_due(factory: sessionmaker[Session], *, clock: Clock, ttl_hours: int = 24) -> Summary:
    summary = Summary()
    now = clock.now()
    while True:
        with transaction(factory) as session:
            n = ledger.activate_due(session, now=now, limit=BATCH)
        summary.activated += n
        if n < BATCH:
            break
    summary.referrals_rewarded = referrals.run_due(factory, now=now, batch=BATCH)
    while True:
        with transaction(factory) as session:
            n = ledger.expire_due(session, now=now, limit=BATCH)
        summary.expired += n
        if n < BATCH:
            break
    # Paid memberships first, so that a lapsed paid tier is gone before the reviews.
    summary.memberships_ended = _until_done(factory, lapse_due, now)
    _until_done(factory, _assign_entry_tiers, now)
    summary.tiers_reviewed = _until_done(factory, _review_tiers, now)
    summary.reservations_expired = _until_done(factory, coupon_redemptions.free_expired, now)
    summary.segments_swept = sweep_segments(factory, now=now).segments
    with transaction(factory) as session:
        summary.idempotency_purged = idempotency.purge(
            session, older_than=now - timedelta(hours=ttl_hours)
        )
    return summary


@dataclass(frozen=True)
class SegmentsSwept:
    segments: int
    entered: int
    left: int

    def model_dump(self) -> dict[str, int]:
        return {"segments": self.segments, "entered": self.entered, "left": self.left}


def sweep_segments(
    factory: sessionmaker[Session], *, now: datetime, everything: bool = False
) -> SegmentsSwept:
    """Re-evaluate the segments that change with time as of ``now``, one transaction per
    segment (``everything``: every dynamic segment), after the members closed since have
    left every segment; the entries and exits reach the other features as events."""
    with transaction(factory) as session:
        ids = [s.id for s in segments.due(session, everything=everything)]
        gone = segments.drop_inactive(session, now=now)
        reactions.after_events(session, gone, now)
    entered, left = 0, len(gone)
    for segment_id in ids:
        with transaction(factory) as session:
            segment = session.get(Segment, segment_id)
            if segment is None:  # deleted meanwhile
                continue
            done = segments.sweep_segment(session, segment, now=now)
            reactions.after_events(session, done.caused, now)
        entered, left = entered + done.entered, left + done.left
    return SegmentsSwept(len(ids), entered, left)


def _assign_entry_tiers(session: Session, *, now: datetime, limit: int) -> int:
    done = tier_reviews.assign_entry_tier(session, now=now, limit=limit)
    reactions.after_events(session, done.caused, now)
    return done.count


def _review_tiers(session: Session, *, now: datetime, limit: int) -> int:
    """Review the tiers due, and let the other features react to the changes."""
    done = tier_reviews.review_due(session, now=now, limit=limit)
    reactions.after_events(session, done.caused, now)
    return done.count


def _until_done(factory: sessionmaker[Session], step: Callable[..., int], now: datetime) -> int:
    """Run ``step(session, now=, limit=)`` in batches, each its own transaction, until a batch
    finds nothing (a step may leave work for the next batch, e.g. a review years overdue)."""
    done = 0
    while n := _batch(factory, step, now):
        done += n
    return done


def _batch(factory: sessionmaker[Session], step: Callable[..., int], now: datetime) -> int:
    with transaction(factory) as session:
        return step(session, now=now, limit=BATCH)
