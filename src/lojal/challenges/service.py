"""Challenge use cases: the marketer defines, activates and ends challenges; a member's
challenges are read with their progress (``active_for_member``). Counting activity into
progress, and rewarding completions, is ``lojal.challenges.progress`` (called from
``lojal.reactions``).

A challenge's life: **draft** (created; may change freely; counts nothing) → **active** (counts
activity from its start — ``starts_at`` or the moment it was activated — until ``ends_at``)
→ **ended** (counts nothing more; progress and completions stay). What an active challenge
counts — activity, condition, goal, window, start, repeatability — is locked: changing it under
members who are half-way would be unfair and would make their stored progress mean something
else. Its name, description, image, end, tier targeting, cap and reward may still change (a
new reward applies to completions from then on). Activity recorded before activation is not
counted, even when it happened inside the challenge's run: challenges react to activity as it
is recorded and do not look back.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal import calendar as club_calendar
from lojal.badges import queries as badge_queries
from lojal.badges.errors import UnknownBadge
from lojal.challenges import engine, matching
from lojal.challenges.engine import Progress
from lojal.challenges.errors import (
    ChallengeCodeTaken,
    ChallengeEnded,
    ChallengeLocked,
    ChallengeNotFound,
    InvalidChallenge,
)
from lojal.challenges.matching import Compiled
from lojal.challenges.models import (
    Challenge,
    ChallengeCompletion,
    ChallengeFact,
    ChallengeProgress,
)
from lojal.challenges.schemas import (
    ChallengeDefinition,
    ChallengeRead,
    ChallengeStats,
    MemberChallengeRead,
    RewardRead,
)
from lojal.coupons.errors import UnknownCampaign
from lojal.coupons.models import CouponCampaign
from lojal.inputs import locate_unstorable
from lojal.members import service as members
from lojal.program import service as program_service

# What a running challenge counts: these parts of the definition are locked once it is active.
LOCKED = ("activity", "event_type", "when", "goal", "window", "starts_at", "repeatable")
_PERIOD_ORDER = {"day": 0, "week": 1, "month": 2, "quarter": 3, "year": 4}


# ---------------------------------------------------------------- checking a definition


def instant(value: date | None, timezone: str) -> datetime | None:
    """A definition's time in UTC: a date is midnight in the club's time zone."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return club_calendar.local_midnight(value, ZoneInfo(timezone))


def check(session: Session, definition: ChallengeDefinition, timezone: str) -> None:
    """The rules a definition must follow beyond its shape; errors name the field."""
    activity = definition.activity
    if (activity == "event") != (definition.event_type is not None):
        raise InvalidChallenge(
            "an event challenge names the event_type it counts (and only it does)",
            field="event_type",
        )
    if definition.max_completions is not None and not definition.repeatable:
        raise InvalidChallenge(
            "max_completions is for repeatable challenges", field="max_completions"
        )
    fields = matching.fields_for(activity)
    if definition.when is not None:
        refusal = fields.refusal(definition.when)
        if refusal is not None:
            raise InvalidChallenge(f"a {activity} challenge: {refusal}", field="when")
    goal = definition.goal
    if goal.field is not None:
        if not fields.knows(goal.field):
            raise InvalidChallenge(
                f"a {activity} challenge: {fields.unknown_field(goal.field)}", field="goal.field"
            )
        if goal.kind == "sum" and not matching.summable(activity, goal.field):
            raise InvalidChallenge(
                f"{goal.field!r} is not a number a sum goal can add up", field="goal.field"
            )
    if goal.kind == "sum" and goal.field is None and activity == "event":
        raise InvalidChallenge(
            "a sum goal over events names the property it adds up", field="goal.field"
        )
    window = definition.window
    if goal.kind == "streak":
        assert goal.period is not None
        if window.kind == "rolling":
            raise InvalidChallenge(
                "a streak runs over consecutive periods: give it a campaign or calendar window",
                field="window.kind",
            )
        if window.period is not None and _PERIOD_ORDER[goal.period] >= _PERIOD_ORDER[window.period]:
            raise InvalidChallenge(
                f"a streak of {goal.period}s does not fit in a {window.period}",
                field="goal.period",
            )
    starts = instant(definition.starts_at, timezone)
    ends = instant(definition.ends_at, timezone)
    if starts is not None and ends is not None and ends <= starts:
        raise InvalidChallenge("ends_at must be after starts_at", field="ends_at")
    _check_reward(session, definition)


def _check_reward(session: Session, definition: ChallengeDefinition) -> None:
    badge = definition.reward.badge
    if badge is not None and badge_queries.by_code(session, badge) is None:
        raise UnknownBadge(f"no badge {badge!r}: create it first", field="reward.badge")
    campaign_id = definition.reward.coupon
    if campaign_id is not None and session.get(CouponCampaign, campaign_id) is None:
        raise UnknownCampaign(
            f"no coupon campaign {campaign_id}: create it first", field="reward.coupon"
        )


# ---------------------------------------------------------------- the marketer's use cases


def parse(text: str) -> list[ChallengeDefinition]:
    """Challenges from a YAML or JSON file: one challenge, or a list of them. Errors name the
    challenge and the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidChallenge(f"the file is not valid YAML: {exc}") from exc
    if (found := locate_unstorable(data)) is not None:
        raise InvalidChallenge(str(found), field=found.path)
    items = data if isinstance(data, list) else [data]
    out: list[ChallengeDefinition] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidChallenge(f"challenge {i + 1}: a challenge is a mapping of settings")
        try:
            out.append(ChallengeDefinition.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            name = item.get("code", i + 1)
            raise InvalidChallenge(
                f"challenge {name}: {where}: {first['msg']}", field=where
            ) from exc
    return out


def get(session: Session, code: str) -> Challenge:
    row = session.scalar(select(Challenge).where(Challenge.code == code))
    if row is None:
        raise ChallengeNotFound(f"no challenge {code!r}")
    return row


def list_all(session: Session, *, status: str | None = None) -> list[Challenge]:
    query = select(Challenge).order_by(Challenge.id)
    if status is not None:
        query = query.where(Challenge.status == status)
    return list(session.scalars(query))


def definition_of(row: Challenge) -> ChallengeDefinition:
    return ChallengeDefinition.model_validate(row.definition)


def create(
    session: Session, *, definition: ChallengeDefinition, now: datetime, source: str | None = None
) -> Challenge:
    """A new challenge, as a draft."""
    timezone = program_service.current(session).timezone
    check(session, definition, timezone)
    if session.scalar(select(Challenge.id).where(Challenge.code == definition.code)) is not None:
        raise ChallengeCodeTaken(f"a challenge with code {definition.code!r} exists", field="code")
    row = Challenge(
        code=definition.code,
        name=definition.name,
        activity=definition.activity,
        status="draft",
        definition=definition.model_dump(mode="json", by_alias=True),
        revision=1,
        runs_from=None,
        runs_until=instant(definition.ends_at, timezone),
        source=source,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def apply(
    session: Session,
    *,
    definition: ChallengeDefinition,
    now: datetime,
    code: str | None = None,
    source: str | None = None,
) -> tuple[Challenge, bool]:
    """Create the challenge, or change the one with this code (``code``: the one being
    changed, when the caller names it apart from the definition). Returns it and whether it
    was created. Changing an active challenge may not touch what it counts (``LOCKED``)."""
    if code is not None and code != definition.code:
        raise InvalidChallenge(
            f"the definition's code {definition.code!r} is not {code!r}", field="code"
        )
    row = session.scalar(select(Challenge).where(Challenge.code == definition.code))
    if row is None:
        return create(session, definition=definition, now=now, source=source), True
    if row.status == "ended":
        raise ChallengeEnded(f"challenge {row.code!r} has ended and can no longer change")
    timezone = program_service.current(session).timezone
    check(session, definition, timezone)
    new = definition.model_dump(mode="json", by_alias=True)
    if row.status == "active":
        old = definition_of(row).model_dump(mode="json", by_alias=True)
        for part in LOCKED:
            if old.get(part) != new.get(part):
                raise ChallengeLocked(
                    f"challenge {row.code!r} is active: its {part} can no longer change "
                    "(end it and create a new one)",
                    field=part,
                )
    if new == row.definition:
        return row, False
    row.definition = new
    row.name = definition.name
    row.activity = definition.activity
    row.runs_until = instant(definition.ends_at, timezone)
    started, ending = row.runs_from, row.runs_until
    if row.status == "active" and started is not None and ending is not None and ending <= started:
        raise InvalidChallenge("ends_at must be after the challenge started", field="ends_at")
    if source is not None:
        row.source = source
    row.revision += 1
    row.updated_at = now
    session.flush()
    return row, False


def activate(session: Session, *, code: str, now: datetime) -> Challenge:
    """Start counting: from ``starts_at`` if it was given, else from now. Activating an active
    challenge changes nothing."""
    row = get(session, code)
    if row.status == "active":
        return row
    if row.status == "ended":
        raise ChallengeEnded(f"challenge {code!r} has ended")
    definition = definition_of(row)
    timezone = program_service.current(session).timezone
    check(session, definition, timezone)
    runs_from = instant(definition.starts_at, timezone) or now
    runs_until = instant(definition.ends_at, timezone)
    if runs_until is not None and runs_until <= runs_from:
        raise InvalidChallenge(
            "the challenge would end before it starts: change ends_at", field="ends_at"
        )
    row.status = "active"
    row.runs_from = runs_from
    row.runs_until = runs_until
    row.activated_at = now
    row.revision += 1
    row.updated_at = now
    session.flush()
    return row


def end(session: Session, *, code: str, now: datetime) -> Challenge:
    """Stop counting. Members keep their progress and completions. Ending twice is harmless."""
    row = get(session, code)
    if row.status == "ended":
        return row
    row.status = "ended"
    row.ended_at = now
    if row.runs_until is None or row.runs_until > now:
        row.runs_until = now
    row.revision += 1
    row.updated_at = now
    session.flush()
    return row


def to_read(row: Challenge) -> ChallengeRead:
    return ChallengeRead.model_validate(
        {
            **row.definition,
            "id": row.id,
            "status": row.status,
            "revision": row.revision,
            "runs_from": row.runs_from,
            "runs_until": row.runs_until,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "activated_at": row.activated_at,
            "ended_at": row.ended_at,
        }
    )


def stats(session: Session, *, code: str, now: datetime) -> ChallengeStats:
    row = get(session, code)
    progress = ChallengeProgress
    participants, in_progress, completed = session.execute(
        select(
            func.count(),
            func.count().filter(
                progress.state == "active",
                (progress.window_end.is_(None)) | (progress.window_end > now),
            ),
            func.count().filter(progress.completions > 0),
        ).where(progress.challenge_id == row.id)
    ).one()
    completions, points = session.execute(
        select(func.count(), func.coalesce(func.sum(ChallengeCompletion.points), 0)).where(
            ChallengeCompletion.challenge_id == row.id
        )
    ).one()
    return ChallengeStats(
        code=row.code,
        participants=int(participants),
        in_progress=int(in_progress),
        members_completed=int(completed),
        completions=int(completions),
        points_awarded=int(points),
    )


# ---------------------------------------------------------------- compiled challenges

_compiled: dict[tuple[int, int, str], tuple[Any, tuple[Any, Any], Compiled]] = {}


def compiled(
    row_id: int, revision: int, definition: Any, runs: tuple[Any, Any], timezone: str
) -> Compiled:
    """The challenge prepared for counting (its definition validated, its condition compiled),
    once per revision. The cached copy is checked against the row (ids of rolled-back rows
    can come back with other content)."""
    key = (row_id, revision, timezone)
    held = _compiled.get(key)
    if held is not None and held[0] == definition and held[1] == runs:
        return held[2]
    if len(_compiled) > 10_000:
        _compiled.clear()
    found = matching.compile_challenge(
        id=row_id,
        definition=ChallengeDefinition.model_validate(definition),
        runs_from=runs[0],
        runs_until=runs[1],
        timezone=timezone,
    )
    _compiled[key] = (definition, runs, found)
    return found


def compiled_row(row: Challenge, timezone: str) -> Compiled:
    return compiled(row.id, row.revision, row.definition, (row.runs_from, row.runs_until), timezone)


# ---------------------------------------------------------------- what a member sees


def progress_of(row: ChallengeProgress | None, facts: list[tuple[str, int | None]]) -> Progress:
    if row is None:
        return Progress()
    return Progress(
        attempt=row.attempt,
        state=row.state,
        window_start=row.window_start,
        window_end=row.window_end,
        progress=row.progress,
        started_at=row.started_at,
        last_activity_at=row.last_activity_at,
        completions=row.completions,
        last_completed_at=row.last_completed_at,
        last_window_end=row.last_window_end,
        values={value for value, _ in facts},
        periods={period for _, period in facts if period is not None},
    )


def active_for_member(
    session: Session, *, member_id: int, now: datetime
) -> list[MemberChallengeRead]:
    """The challenges running now that the member can take part in (their tier is targeted,
    or they have already taken part), each with where the member stands: progress against the
    target, the distinct values or the streak so far, the window, completions. For the
    member's profile and summary. Follows merges to the member that carries on."""
    member = members.resolve(session, members.get(session, member_id))
    config = program_service.current(session)
    timezone = config.timezone
    running = [
        (row, c)
        for row in list_all(session, status="active")
        if (c := compiled_row(row, timezone)).spec.running_at(now)
    ]
    if not running:
        return []
    ids = [row.id for row, _ in running]
    rows = {
        row.challenge_id: row
        for row in session.scalars(
            select(ChallengeProgress).where(
                ChallengeProgress.member_id == member.id, ChallengeProgress.challenge_id.in_(ids)
            )
        )
    }
    facts: dict[int, list[tuple[str, int | None]]] = {}
    for challenge_id, value, period in session.execute(
        select(ChallengeFact.challenge_id, ChallengeFact.value, ChallengeFact.period)
        .join(
            ChallengeProgress,
            (ChallengeProgress.member_id == ChallengeFact.member_id)
            & (ChallengeProgress.challenge_id == ChallengeFact.challenge_id)
            & (ChallengeProgress.attempt == ChallengeFact.attempt),
        )
        .where(
            ChallengeFact.member_id == member.id,
            ChallengeFact.challenge_id.in_(
                [row.id for row, c in running if c.spec.goal in ("distinct", "streak")]
            ),
            ChallengeProgress.state == "active",
        )
    ):
        facts.setdefault(challenge_id, []).append((value, period))
    out: list[MemberChallengeRead] = []
    for row, c in running:
        held = rows.get(row.id)
        if held is None and not c.spec.eligible(member.tier):
            continue
        progress = progress_of(held, facts.get(row.id, []))
        seen = engine.view(c.spec, progress, now)
        d = c.definition
        out.append(
            MemberChallengeRead(
                code=d.code,
                name=d.name,
                description=d.description,
                image_url=d.image_url,
                activity=d.activity,
                event_type=d.event_type,
                goal=d.goal.kind,
                target=d.goal.target,
                status=seen.status,
                progress=seen.progress,
                currency=config.currency if matching.sums_money(d) else None,
                values=seen.values,
                streak=seen.streak,
                streak_period=d.goal.period,
                window_start=seen.window_start,
                window_end=seen.window_end,
                ends_at=c.spec.runs_until,
                repeatable=d.repeatable,
                max_completions=d.max_completions,
                completions=progress.completions,
                last_completed_at=progress.last_completed_at,
                rewarded=progress.completions > 0,
                reward=RewardRead(
                    points=d.reward.points, badge=d.reward.badge, coupon=d.reward.coupon
                ),
            )
        )
    return out
