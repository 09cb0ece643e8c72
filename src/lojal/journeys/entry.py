"""Entering members into a journey: runs written with one statement, their first jobs with
another, in the caller's transaction (the outbox: the run and its job commit with the event
that caused them, or not at all).

"Once" is the database's: a run is unique per ``(journey, member, occasion)`` and written
``ON CONFLICT DO NOTHING``, so a replayed event, a sweep run twice or two workers entering
the same members write one run; a job is unique per run and wake (``journey-run:<id>:<n>``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lojal.db.driver import Driver
from lojal.db.types import JSONType, UTCDateTime
from lojal.journeys.definition import JourneyDefinition
from lojal.journeys.models import Journey, JourneyRun
from lojal.segments import queries as segment_queries
from lojal.worker.models import Job

KIND = "journey"
ONCE = "once"

_r = JourneyRun.__table__.c


@lru_cache(maxsize=256)
def _parsed(text: str) -> JourneyDefinition:
    return JourneyDefinition.model_validate(json.loads(text))


def definition_of(journey: Journey) -> JourneyDefinition:
    """The journey's definition, parsed once per process and text (checked when saved)."""
    return _parsed(json.dumps(journey.definition, sort_keys=True))


def enabled(session: Session, kinds: Sequence[str]) -> list[tuple[Journey, JourneyDefinition]]:
    """The enabled journeys with one of these triggers. Every purchase, return and event asks,
    so the question is first put to the driver (~10 µs, against ~150 µs for the ORM's read):
    with no such journey, that is all it costs."""
    marks = ", ".join("?" * len(kinds))
    probe = f"SELECT 1 FROM journeys WHERE enabled = ? AND trigger_kind IN ({marks}) LIMIT 1"
    if not kinds or not Driver.of(session).all(probe, (True, *kinds)):
        return []
    rows = session.scalars(
        select(Journey)
        .where(Journey.enabled.is_(True), Journey.trigger_kind.in_(list(kinds)))
        .order_by(Journey.id)
    )
    return [(j, definition_of(j)) for j in rows]


def occasion_of(definition: JourneyDefinition, cause: str) -> str:
    return ONCE if definition.once_per_member else cause


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def enter(
    session: Session,
    journey: Journey,
    definition: JourneyDefinition,
    candidates: Sequence[tuple[int, str]],
    now: datetime,
) -> int:
    """Enter the members ``(member_id, cause)`` who are in the journey's audience now; the
    number of runs this wrote (a member already on this occasion is skipped)."""
    if not candidates:
        return 0
    members = sorted({m for m, _ in candidates})
    if definition.audience is not None:
        allowed = set(segment_queries.holding(session, definition.audience, now=now, only=members))
    else:
        allowed = set(members)
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for member_id, cause in candidates:
        if member_id not in allowed:
            continue
        occasion = occasion_of(definition, cause)
        rows.setdefault(
            (member_id, occasion),
            {
                "journey_id": journey.id,
                "member_id": member_id,
                "occasion": occasion,
                "cause": cause[:100],
                "state": "entered",
                "held_out": False,
                "position": [],
                "wakes": 0,
                "next_at": now,
                "history": [],
                "context": {},
                "entered_at": now,
                "converts_until": now + timedelta(days=definition.conversion_days),
            },
        )
    if not rows:
        return 0
    statement = _insert(session)(JourneyRun).on_conflict_do_nothing(
        index_elements=["journey_id", "member_id", "occasion"]
    )
    result = session.execute(statement, list(rows.values()))
    enqueue_entered(session, journey.id, now)
    return int(getattr(result, "rowcount", 0) or 0)


def enqueue_entered(session: Session, journey_id: int, now: datetime) -> int:
    """One job for each run of the journey entered at ``now`` that has none yet (one
    ``INSERT … SELECT``, however many runs)."""
    dialect = session.get_bind().dialect.name
    payload: ColumnElement[Any]
    if dialect == "postgresql":
        payload = func.jsonb_build_object("run", _r.id)
    else:
        payload = func.json_object("run", _r.id)
    key = literal("journey-run:") + cast(_r.id, String) + literal(":0")
    chosen: Select[Any] = select(
        literal(KIND),
        key,
        payload,
        literal("queued"),
        literal(0),
        _r.next_at,
        literal(now, UTCDateTime()),
    ).where(
        and_(
            _r.journey_id == journey_id,
            _r.entered_at == literal(now, UTCDateTime()),
            _r.state == "entered",
            _r.wakes == 0,
        )
    )
    statement = (
        _insert(session)(Job)
        .from_select(
            ["kind", "key", "payload", "state", "attempts", "run_at", "created_at"], chosen
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def runs_from_select(
    session: Session,
    journey: Journey,
    definition: JourneyDefinition,
    members: Select[Any],
    *,
    occasion: str,
    cause: str,
    now: datetime,
) -> int:
    """Enter every member ``members`` selects (``SELECT members.id …``), set-based: one
    ``INSERT … SELECT`` of the runs, one of their jobs."""
    at = literal(now, UTCDateTime())
    chosen = members.add_columns(
        literal(journey.id),
        literal(occasion),
        literal(cause),
        literal("entered"),
        literal(False),
        literal([], JSONType),
        literal(0),
        at,
        literal([], JSONType),
        literal({}, JSONType),
        at,
        literal(now + timedelta(days=definition.conversion_days), UTCDateTime()),
    )
    statement = (
        _insert(session)(JourneyRun)
        .from_select(
            [
                "member_id",
                "journey_id",
                "occasion",
                "cause",
                "state",
                "held_out",
                "position",
                "wakes",
                "next_at",
                "history",
                "context",
                "entered_at",
                "converts_until",
            ],
            chosen,
        )
        .on_conflict_do_nothing(index_elements=["journey_id", "member_id", "occasion"])
        .returning(_r.id)
    )
    # counted from RETURNING: psycopg gives no row count for an INSERT … SELECT here
    entered = len(session.execute(statement).all())
    enqueue_entered(session, journey.id, now)
    return entered
