"""Journeys' use cases: save a definition (checked: its fields, templates, segment and coupon
campaign names, and its holdout against the size of its audience), switch it on and off, set
a channel's caps and quiet hours, and set the club's global control group. A journey is saved
switched off unless told otherwise; switching it on starts it for what happens from then on
(and, for a date trigger, from the next sweep).

The control groups' rules are ``journeys.control``'s: a holdout (and the global group) holds
at most 10 % of its audience and at least 1,000 members, so a journey whose audience is
smaller than 10,000 members has no holdout (``holdout_percent`` 0); the global group is
reshuffled at most once a calendar month."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace as replaced
from datetime import date, datetime
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lojal.calendar import local_day
from lojal.coupons.models import CouponCampaign
from lojal.inputs import yaml_problem
from lojal.journeys import queries
from lojal.journeys.control import ControlGroupInvalid, ControlSettings, check_change, sized_percent
from lojal.journeys.definition import CouponStep, JourneyDefinition, walk_steps
from lojal.journeys.errors import InvalidJourney, JourneyCodeTaken
from lojal.journeys.models import ChannelPolicy, Journey, JourneyControl
from lojal.journeys.policy import parse_hhmm
from lojal.journeys.schemas import ControlWrite, PolicyWrite
from lojal.segments import queries as segment_queries
from lojal.segments.models import Segment

FILE_KEYS = ("journeys", "policies")


def parse_file(text: str) -> tuple[list[JourneyDefinition], list[PolicyWrite]]:
    """A file of journeys (YAML or JSON: a list of journeys, or ``{journeys: [...],
    policies: {channel: {...}}}``); an error names the place that does not fit."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidJourney(f"the file is not YAML or JSON: {yaml_problem(exc)}") from exc
    return parse_data(data if isinstance(data, dict) else {"journeys": data})


def parse_data(data: dict[str, Any]) -> tuple[list[JourneyDefinition], list[PolicyWrite]]:
    unknown = sorted(set(data) - set(FILE_KEYS))
    if unknown:
        raise InvalidJourney(
            f"{unknown[0]}: not a part of a journeys file (journeys, policies)", field=unknown[0]
        )
    policies: list[PolicyWrite] = []
    raw_policies = data.get("policies") or {}
    if not isinstance(raw_policies, dict):
        raise InvalidJourney("policies: a mapping of channel to its policy", field="policies")
    for channel, given in raw_policies.items():
        body = {"channel": channel, **(given or {})}
        policies.append(_validated(PolicyWrite, body, f"policies.{channel}"))
    items = data.get("journeys") or []
    if not isinstance(items, list):
        raise InvalidJourney("journeys: a list of journeys", field="journeys")
    journeys = [
        _validated(JourneyDefinition, item, f"journeys[{n}]") for n, item in enumerate(items)
    ]
    return journeys, policies


def _validated(model: Any, data: Any, where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        field = f"{where}.{place}" if place else where
        raise InvalidJourney(f"{field}: {first['msg']}", field=field) from exc


def check_names(session: Session, definition: JourneyDefinition) -> None:
    """The segment and coupon campaigns the journey names exist."""
    trigger = definition.trigger
    if trigger.segment is not None and (
        session.scalar(select(Segment.id).where(Segment.code == trigger.segment)) is None
    ):
        raise InvalidJourney(
            f"trigger.segment: there is no segment {trigger.segment!r}", field="trigger.segment"
        )
    for step in walk_steps(definition.steps):
        if isinstance(step, CouponStep):
            ref = step.coupon.campaign
            query = select(CouponCampaign.id).where(
                CouponCampaign.id == ref if isinstance(ref, int) else CouponCampaign.name == ref
            )
            if session.scalar(query) is None:
                raise InvalidJourney(
                    f"steps: there is no coupon campaign {ref!r}", field="steps.coupon.campaign"
                )


def check_holdout(session: Session, definition: JourneyDefinition, *, now: datetime) -> int:
    """The journey's audience now (``queries.audience_size``), refusing a holdout it is too
    small or too large a share of (``journeys.control.sized_percent``, naming
    ``holdout_percent``)."""
    audience = queries.audience_size(session, definition, now=now)
    sized_percent(definition.holdout_percent, audience, field="holdout_percent")
    return audience


def fitted_holdout(
    session: Session, definition: JourneyDefinition, *, now: datetime
) -> JourneyDefinition:
    """The definition with the holdout its audience can hold now: as given, or none (0)
    when the audience is too small for it (a ready-made journey in a small club)."""
    try:
        check_holdout(session, definition, now=now)
    except ControlGroupInvalid:
        return definition.model_copy(update={"holdout_percent": 0})
    return definition


def add(
    session: Session, *, definition: JourneyDefinition, now: datetime, enabled: bool = False
) -> Journey:
    """Save a new journey."""
    check_names(session, definition)
    check_holdout(session, definition, now=now)
    if session.scalar(select(Journey.id).where(Journey.code == definition.code)) is not None:
        raise JourneyCodeTaken(f"a journey with code {definition.code!r} exists", field="code")
    journey = Journey(
        code=definition.code,
        name=definition.name,
        trigger_kind=definition.trigger.kind,
        definition=definition.dump(),
        enabled=enabled,
        holdout_percent=definition.holdout_percent,
        revision=1,
        created_at=now,
        updated_at=now,
    )
    session.add(journey)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # the same code saved at the same time
        raise JourneyCodeTaken(
            f"a journey with code {definition.code!r} exists", field="code"
        ) from exc
    return journey


def replace(session: Session, *, definition: JourneyDefinition, now: datetime) -> Journey:
    """Change a journey's definition (its runs keep going on the steps as they now are)."""
    check_names(session, definition)
    check_holdout(session, definition, now=now)
    journey = queries.get(session, definition.code)
    journey.name = definition.name
    journey.trigger_kind = definition.trigger.kind
    journey.definition = definition.dump()
    journey.holdout_percent = definition.holdout_percent
    journey.revision += 1
    journey.updated_at = now
    session.flush()
    return journey


def apply(
    session: Session, *, definitions: Sequence[JourneyDefinition], now: datetime, enable: bool
) -> list[Journey]:
    """Add each journey, or replace the one with its code; ``enable`` switches them on."""
    out = []
    for definition in definitions:
        found = session.scalar(select(Journey).where(Journey.code == definition.code))
        if found is None:
            journey = add(session, definition=definition, now=now, enabled=enable)
        else:
            journey = replace(session, definition=definition, now=now)
            if enable:
                journey.enabled = True
        out.append(journey)
    session.flush()
    return out


def set_enabled(session: Session, *, journey: int | str, enabled: bool, now: datetime) -> Journey:
    found = queries.get(session, journey)
    if found.enabled != enabled:
        found.enabled = enabled
        found.updated_at = now
        session.flush()
    return found


def set_policy(session: Session, *, data: PolicyWrite, now: datetime) -> ChannelPolicy:
    """Set a channel's frequency cap and quiet hours (None: none)."""
    for name in ("quiet_from", "quiet_until"):
        value = getattr(data, name)
        if value is not None:
            try:
                parse_hhmm(value)
            except ValueError as exc:
                raise InvalidJourney(f"{name}: {exc}", field=name) from exc
    policy = session.get(ChannelPolicy, data.channel)
    if policy is None:
        policy = ChannelPolicy(channel=data.channel, updated_at=now)
        session.add(policy)
    policy.cap_messages = data.cap_messages
    policy.cap_days = data.cap_days
    policy.quiet_from = data.quiet_from
    policy.quiet_until = data.quiet_until
    policy.updated_at = now
    session.flush()
    return policy


# ---------------------------------------------------------------- the global control group


def _today(session: Session, now: datetime) -> date:
    return local_day(now, segment_queries.club_zone(session))


def control_settings(session: Session, *, now: datetime) -> ControlSettings:
    """The club's global control group, made the first time it is needed: a random salt
    that never changes, 0 % (no group), drawn today (club time). Two transactions making it
    at once make one (the row is ``id`` 1; the loser reads the winner's)."""
    row = queries.control(session)
    if row is None:
        made = JourneyControl(
            id=1,
            salt=secrets.token_hex(16),
            percent=0.0,
            drawn_on=_today(session, now),
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(made)
                session.flush()
            row = made
        except IntegrityError:
            row = queries.control(session)
            assert row is not None  # another transaction made it
    return ControlSettings(salt=row.salt, percent=row.percent, drawn_on=row.drawn_on)


_CONTROL_FIELDS = {"control_percent": "percent", "control_drawn_on": "drawn_on"}


def _named(exc: ControlGroupInvalid) -> ControlGroupInvalid:
    """The control module's error with the field as ``PUT /journey-control`` names it."""
    field = exc.field or ""
    name = _CONTROL_FIELDS.get(field, field)
    detail = str(exc)
    if field and detail.startswith(f"{field}:"):
        detail = f"{name}:{detail[len(field) + 1 :]}"
    return ControlGroupInvalid(detail, field=name)


def set_control(session: Session, *, data: ControlWrite, now: datetime) -> ControlSettings:
    """Set the global control group's percent (of the club's active members, sized by
    ``sized_percent``) and, with ``drawn_on``, draw its buckets anew (at most once a calendar
    month: ``check_change``). A new percent is a new draw: on ``drawn_on`` when given, else
    today. A group at 0 % holds nobody, so its first percent may be set on any day."""
    before = control_settings(session, now=now)
    today = _today(session, now)
    percent = before.percent if data.percent is None else data.percent
    drawn_on = data.drawn_on
    if drawn_on is None:
        drawn_on = before.drawn_on if percent == before.percent else today
    if drawn_on > today or drawn_on < before.drawn_on:
        raise ControlGroupInvalid(
            f"drawn_on: {drawn_on.isoformat()} is not a day from the last draw"
            f" ({before.drawn_on.isoformat()}) to today ({today.isoformat()})",
            field="drawn_on",
        )
    try:
        after = replaced(before, percent=percent, drawn_on=drawn_on)
        sized_percent(after.percent, queries.active_members(session), field="control_percent")
        check_change(None if before.percent == 0 else before, after)
    except ControlGroupInvalid as exc:
        raise _named(exc) from exc
    row = queries.control(session)
    assert row is not None  # control_settings made it
    if (row.percent, row.drawn_on) != (after.percent, after.drawn_on):
        row.percent, row.drawn_on, row.updated_at = after.percent, after.drawn_on, now
        session.flush()
    return after
