"""The sweep: segments whose members change with time alone ("no purchase in the last 90
days", "birthday in 7 days", a top percentile) or without an activity of the member's own (a
profile, a consent, points moved by ``lojal jobs run``, a friend's referral) are re-evaluated
for every member, as of the sweep's moment. ``lojal segments sweep`` and ``lojal jobs run``
run it (``jobs.service.sweep_segments``: one transaction per segment); a second sweep at the
same moment changes nothing.

The segments that read the stored insight figures (``insight``) are re-evaluated by the refit
that replaces them, in its transaction (``insight.tasks``, with ``refresh_reading``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded
from lojal.segments import membership
from lojal.segments.membership import ENTERED
from lojal.segments.models import Segment

# What only a sweep brings up to date.
SWEPT = frozenset({"time", "population", "profile", "points", "referrals"})


@dataclass(frozen=True, slots=True)
class Swept:
    segment_id: int
    entered: int
    left: int
    caused: list[EventRecorded]


def due(session: Session, *, everything: bool = False) -> list[Segment]:
    """The dynamic segments a sweep re-evaluates (``everything``: all of them)."""
    return [
        s for s in membership.dynamic_segments(session) if everything or SWEPT.intersection(s.reads)
    ]


def sweep_segment(session: Session, segment: Segment, *, now: datetime) -> Swept:
    caused = membership.refresh(session, segment, now=now)
    segment.evaluated_at = now
    entered = sum(1 for e in caused if e.type == ENTERED)
    return Swept(segment.id, entered, len(caused) - entered, caused)


def refresh_reading(session: Session, word: str, *, now: datetime) -> list[Swept]:
    """Re-evaluate, for every member, the dynamic segments whose definition reads ``word``
    (``insight``: the figures a refit has just replaced), in the caller's transaction."""
    done = []
    for segment in membership.dynamic_segments(session):
        if word in segment.reads:
            done.append(sweep_segment(session, segment, now=now))
    return done


def drop_inactive(session: Session, *, now: datetime) -> list[EventRecorded]:
    """Members closed since leave every segment and list they are still in."""
    return membership.drop_inactive(session, now=now)
