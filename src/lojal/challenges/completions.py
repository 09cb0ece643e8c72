"""Rewarding completed challenges, in the transaction that completed them: the points of all
of a batch's completions in one go (``ledger.bulk.earn_many``, each keyed
``challenge:<id>:<member>:<attempt>``), then each badge and coupon, and their
``challenge_completions`` rows. A completion is rewarded once: its row is unique per member,
challenge and attempt, and every reward is keyed on it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded
from lojal.activities.system import SystemEvent, record_events
from lojal.badges import queries as badge_queries
from lojal.badges import service as badges
from lojal.badges.models import Badge
from lojal.challenges import engine
from lojal.challenges.matching import Compiled
from lojal.challenges.queries import Times
from lojal.coupons import service as coupons
from lojal.db.driver import Driver
from lojal.ledger.bulk import Grant, earn_many
from lojal.program import service as program_service

CHALLENGE_COMPLETED = "challenge_completed"
COMPLETION_COLUMNS = (
    "member_id",
    "challenge_id",
    "attempt",
    "completed_at",
    "window_start",
    "window_end",
    "points",
    "entry_id",
    "badge_id",
    "recorded_at",
)


def reward(
    session: Session,
    completions: Sequence[tuple[Compiled, int, engine.Completion]],
    now: datetime,
) -> list[EventRecorded]:
    """Give each completion's reward, once: the completion row is unique per member,
    challenge and attempt, and the points' ledger key is the completion's
    (``challenge:<id>:<member>:<attempt>``). The points of all the batch's completions are
    earned together (``ledger.bulk.earn_many``: an import of history completes challenges by
    the thousand); badges and coupons one by one. Each completion is recorded as a
    ``challenge_completed`` event, returned for the caller to dispatch (journeys react)."""
    config = program_service.current(session)
    grants: list[Grant] = []
    for challenge, member_id, completion in completions:
        definition = challenge.definition
        points = definition.reward.points
        if points is not None:
            spec = challenge.spec
            grants.append(
                Grant(
                    member_id=member_id,
                    points=points,
                    key=points_key(spec.id, member_id, completion.attempt),
                    earned_at=completion.completed_at,
                    source=f"challenge:{spec.id}",
                    explanation=(
                        f"+{points} {config.point_name}: challenge '{definition.name}' completed"
                    ),
                    detail={"challenge": spec.code, "attempt": completion.attempt},
                )
            )
    entry_ids = earn_many(session, grants, now=now, config=config)
    held_badges: dict[str, Badge | None] = {}
    rows: list[tuple[Any, ...]] = []
    for challenge, member_id, completion in completions:
        reward = challenge.definition.reward
        spec = challenge.spec
        entry_id: int | None = None
        points = 0
        if reward.points is not None:
            entry_id = entry_ids[points_key(spec.id, member_id, completion.attempt)]
            points = reward.points
        badge_id: int | None = None
        if reward.badge is not None:
            if reward.badge not in held_badges:
                held_badges[reward.badge] = badge_queries.by_code(session, reward.badge)
            badge = held_badges[reward.badge]
            if badge is not None:  # badges are never deleted; checked when the challenge was saved
                badges.award(
                    session,
                    member_id=member_id,
                    badge=badge,
                    source=f"challenge:{spec.code}",
                    at=completion.completed_at,
                )
                badge_id = badge.id
        if reward.coupon is not None:
            # keyed on the completion like the points: issuing again gives the same code
            coupons.issue_code(
                session,
                campaign_id=reward.coupon,
                reference=f"challenge:{spec.id}:{member_id}:{completion.attempt}",
                member_id=member_id,
                now=now,
            )
        rows.append(
            (
                member_id,
                spec.id,
                completion.attempt,
                completion.completed_at,
                completion.window_start,
                completion.window_end,
                points,
                entry_id,
                badge_id,
                now,
            )
        )
    db = Driver.of(session)
    times = Times(db)
    db.insert(
        "challenge_completions",
        COMPLETION_COLUMNS,
        [tuple(times.to_db(v) if isinstance(v, datetime) else v for v in row) for row in rows],
    )
    return record_events(
        session,
        [
            SystemEvent(
                f"{CHALLENGE_COMPLETED}:{challenge.spec.id}:{member_id}:{completion.attempt}",
                member_id,
                CHALLENGE_COMPLETED,
                completion.completed_at,
                {
                    "challenge_id": challenge.spec.id,
                    "challenge_code": challenge.spec.code,
                    "attempt": completion.attempt,
                },
            )
            for challenge, member_id, completion in completions
        ],
        now,
    )


def points_key(challenge_id: int, member_id: int, attempt: int) -> str:
    return f"challenge:{challenge_id}:{member_id}:{attempt}"
