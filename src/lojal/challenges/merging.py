"""What a member merge does to challenges.

A challenge only the merged member took part in moves to the target as it stands (progress,
counted activity, completions). A challenge both took part in is **combined** into the
target's one row (``challenge_progress`` is unique per member and challenge):

* every completion of either half stays a completion of the target's, with the reward it
  gave (never given again); the merged member's attempts are numbered after the target's;
* the attempts still under way (window not over) become one attempt in the window of the
  one that started first, counting what both counted — added up for ``count`` and ``sum``,
  the union of values for ``distinct``, the union of periods for ``streak``
  (``engine.measure``). When that reaches the goal, the attempt completes at the merge and
  is rewarded once, like any completion (points, badge, coupon); what goes beyond the goal
  does not carry into a next attempt;
* a challenge that can be completed only once (or whose cap is reached by the two halves'
  completions together) is done: completing it on one card and again on the other earns
  nothing more.

See ``lojal.members.merging``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lojal.challenges import engine
from lojal.challenges.completions import reward
from lojal.challenges.models import (
    Challenge,
    ChallengeCompletion,
    ChallengeFact,
    ChallengeProgress,
)
from lojal.challenges.progress import forget_cached
from lojal.challenges.service import compiled_row
from lojal.program import service as program_service

TABLES = {
    "challenge_progress": "combined",
    "challenge_facts": "moved",
    "challenge_completions": "moved",
}
_ROWS = (ChallengeProgress, ChallengeFact, ChallengeCompletion)


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    theirs = list(
        session.scalars(
            select(ChallengeProgress)
            .where(ChallengeProgress.member_id == source_id)
            .order_by(ChallengeProgress.challenge_id)
        )
    )
    if not theirs:
        return {}
    mine = {
        row.challenge_id: row
        for row in session.scalars(
            select(ChallengeProgress).where(
                ChallengeProgress.member_id == target_id,
                ChallengeProgress.challenge_id.in_([row.challenge_id for row in theirs]),
            )
        )
    }
    moved: list[int] = []
    combined: list[int] = []
    completed: list[int] = []
    for row in theirs:
        target = mine.get(row.challenge_id)
        if target is None:
            for model in _ROWS:
                session.execute(
                    update(model)
                    .where(model.member_id == source_id, model.challenge_id == row.challenge_id)
                    .values(member_id=target_id)
                )
            moved.append(row.challenge_id)
            continue
        if _combine(session, row, target, now):
            completed.append(row.challenge_id)
        combined.append(row.challenge_id)
    session.flush()
    forget_cached(session)
    out: dict[str, Any] = {"moved": moved, "combined": combined}
    if completed:
        out["completed"] = completed
    return out


def _live(row: ChallengeProgress, now: datetime) -> bool:
    return row.state == "active" and (row.window_end is None or now < row.window_end)


def _combine(
    session: Session, theirs: ChallengeProgress, mine: ChallengeProgress, now: datetime
) -> bool:
    """Combine the merged member's progress in one challenge into the target's; whether the
    combined attempt completed."""
    challenge = session.get(Challenge, theirs.challenge_id)
    assert challenge is not None
    found = compiled_row(challenge, program_service.current(session).timezone)
    spec = found.spec
    source_id, target_id, challenge_id = theirs.member_id, mine.member_id, mine.challenge_id
    offset = mine.attempt
    current = mine.attempt + theirs.attempt + 1  # after every attempt of either
    for model in (ChallengeFact, ChallengeCompletion):
        session.execute(
            update(model)
            .where(model.member_id == source_id, model.challenge_id == challenge_id)
            .values(member_id=target_id, attempt=model.attempt + offset)
        )
    live = [row for row in (mine, theirs) if _live(row, now)]
    for row, attempt in ((mine, mine.attempt), (theirs, theirs.attempt + offset)):
        if row in live:
            session.execute(
                update(ChallengeFact)
                .where(
                    ChallengeFact.member_id == target_id,
                    ChallengeFact.challenge_id == challenge_id,
                    ChallengeFact.attempt == attempt,
                )
                .values(attempt=current)
            )
    last = max(
        (mine, theirs), key=lambda r: r.last_completed_at or datetime.min.replace(tzinfo=now.tzinfo)
    )
    p = engine.Progress(
        attempt=current,
        completions=mine.completions + theirs.completions,
        last_completed_at=last.last_completed_at,
        last_window_end=last.last_window_end,
        last_activity_at=max(
            (t for t in (mine.last_activity_at, theirs.last_activity_at) if t is not None),
            default=None,
        ),
    )
    completion: engine.Completion | None = None
    if not _may_complete_again(spec, p.completions):
        p.state = "done"
    elif live:
        first = min(live, key=lambda r: r.started_at or now)
        p.state = "active"
        p.window_start, p.window_end, p.started_at = (
            first.window_start,
            first.window_end,
            first.started_at,
        )
        facts = [
            engine.Fact(f.attempt, f.value, f.amount, f.period)
            for f in session.scalars(
                select(ChallengeFact).where(
                    ChallengeFact.member_id == target_id,
                    ChallengeFact.challenge_id == challenge_id,
                    ChallengeFact.attempt == current,
                )
            )
        ]
        p.progress = engine.measure(spec.goal, facts)
        if p.progress >= spec.target:
            completion = engine.Completion(current, now, p.window_start, p.window_end)
            p.completions += 1
            p.last_completed_at, p.last_window_end = now, p.window_end
            p.lapse()  # the next attempt, from nothing
            p.state = "idle" if _may_complete_again(spec, p.completions) else "done"
    session.delete(theirs)
    session.flush()
    for name in (
        "attempt",
        "state",
        "window_start",
        "window_end",
        "progress",
        "started_at",
        "last_activity_at",
        "completions",
        "last_completed_at",
        "last_window_end",
    ):
        setattr(mine, name, getattr(p, name))
    mine.updated_at = now
    session.flush()
    if completion is not None:
        reward(session, [(found, target_id, completion)], now)
    return completion is not None


def _may_complete_again(spec: engine.Spec, completions: int) -> bool:
    if completions == 0:
        return True
    return spec.repeatable and (spec.max_completions is None or completions < spec.max_completions)
