"""Live membership: the reactions (``lojal.reactions``) that keep segments up to date in the
transaction of the activity that changed them.

Only the members an activity touched are re-evaluated, and only in the segments whose
definition reads what changed (``Segment.reads``, from ``definition.reads``):

* purchases: the segments reading ``purchases``, ``lines``, ``points`` or ``population``;
* returns: reading ``returns``, ``points`` or ``population``;
* events: reading events of their type (or any event) or ``points``; ``tier_*`` events also
  ``tier``, ``membership_*`` events also ``membership``; ``member_merged`` and
  ``member_erased``: every segment (and static list), for both members;
* a new member: every segment.

Each returns the ``segment_entered`` / ``segment_left`` events it recorded, which the
dispatcher passes on: another segment may read them (a segment is not re-evaluated for its
own entries and exits — a definition that reads them is brought up to date by the sweep)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from lojal.activities.events import (
    MEMBER_MERGED,
    EventRecorded,
    PurchaseRecorded,
    ReturnRecorded,
)
from lojal.segments import membership
from lojal.segments.models import Segment

MEMBER_ERASED = "member_erased"  # lojal.privacy.erasure's event: the member is closed


def _refresh(
    session: Session, pairs: Iterable[tuple[Segment, set[int]]], now: datetime
) -> list[EventRecorded]:
    caused: list[EventRecorded] = []
    for segment, members in pairs:
        if members:
            caused.extend(membership.refresh(session, segment, now=now, only=sorted(members)))
    return caused


def _reading(session: Session, words: set[str]) -> list[Segment]:
    return [s for s in membership.dynamic_segments(session) if words.intersection(s.reads)]


def on_purchases(
    session: Session, purchases: Sequence[PurchaseRecorded], now: datetime
) -> list[EventRecorded]:
    members = {p.member_id for p in purchases}
    segments = _reading(session, {"purchases", "lines", "points", "population"})
    return _refresh(session, ((s, members) for s in segments), now)


def on_returns(
    session: Session, returns: Sequence[ReturnRecorded], now: datetime
) -> list[EventRecorded]:
    members = {r.member_id for r in returns}
    segments = _reading(session, {"returns", "points", "population"})
    return _refresh(session, ((s, members) for s in segments), now)


def _words(event: EventRecorded) -> set[str]:
    words = {f"event:{event.type}", "events", "points"}
    if event.type.startswith("tier_"):
        words.add("tier")
    if event.type.startswith("membership_"):
        words.add("membership")
    return words


def on_events(
    session: Session, events: Sequence[EventRecorded], now: datetime
) -> list[EventRecorded]:
    segments = membership.dynamic_segments(session)
    merged: set[int] = set()
    for event in events:
        if event.type in (MEMBER_MERGED, MEMBER_ERASED):
            merged.add(event.member_id)
            source = event.properties.get("from_member_id")
            if isinstance(source, int):
                merged.add(source)
    pairs = []
    for segment in segments:
        reads = set(segment.reads)
        members = {
            e.member_id
            for e in events
            if _words(e) & reads and e.properties.get("segment_id") != segment.id
        } | merged
        pairs.append((segment, members))
    caused = _refresh(session, pairs, now)
    if merged:  # a member merged away or erased leaves the static lists too
        caused.extend(membership.drop_inactive(session, now=now, only=sorted(merged)))
    return caused


def on_enrolment(session: Session, member_id: int, now: datetime) -> list[EventRecorded]:
    return _refresh(session, ((s, {member_id}) for s in membership.dynamic_segments(session)), now)
