"""Taking a run's steps: from where it is to the next wait (or the end), in the worker's
transaction (``journeys.tasks``: a ``DbHandler``, so the steps and the job's ``done`` commit
together — exactly once).

At its first wake a run is placed (``journeys.control.place``, recorded in ``placement``):
by its member's household (``household_key``: the email, so members who share one land
together) into the club's global control group, the journey's holdout, or neither — and a
journey whose messages are all transactional is exempt from both. A held-out run records
that and gets nothing of the journey — no marketing message, coupon, points or attribute —
but its transactional messages, which reach everyone (a journey without any ends there).
Then each step in turn:

* ``wait``: the run sleeps; its next job is queued at the end of the wait;
* ``branch``: the condition (a segment definition) is decided in SQL for the member now;
* ``send``: in the channel's quiet hours (club time) the run sleeps until they end and sends
  then; over the channel's frequency cap a marketing message is skipped (recorded
  ``capped``); else the template is rendered (sandboxed Jinja2: the member, the journey, the
  run's coupon code, the points expiring, and — for a template that names them — the
  member's ``recommendations``, ``insight.recommendations.template_values``) and queued
  through ``messaging.service.send`` — consent is checked by the sender when it goes out, so
  a member who withdrew it meanwhile gets nothing (``suppressed``);
* ``coupon``: a code of the campaign, bound to the member (``coupons.service.issue_code``,
  keyed on the run and step, so never two);
* ``points``: earned through the ledger (``ledger.service.earn``, keyed on the run and step);
* ``attribute``: the member's attribute set (``members.service.update_member``).

Every step is recorded in the run's ``history``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.calendar import day_window, local_day
from lojal.coupons import service as coupons
from lojal.coupons.models import CouponCampaign
from lojal.insight import recommendations
from lojal.journeys import service as journey_service
from lojal.journeys.control import (
    MAX_CONTROL_PERCENT,
    HoldoutSettings,
    Placement,
    household_key,
    place,
)
from lojal.journeys.definition import (
    TEMPLATES,
    AttributeStep,
    BranchStep,
    CouponStep,
    JourneyDefinition,
    PointsStep,
    Position,
    SendStep,
    WaitStep,
    after,
    into,
    label,
    step_at,
    walk_steps,
)
from lojal.journeys.entry import KIND, definition_of
from lojal.journeys.models import ChannelPolicy, Journey, JourneyMessage, JourneyRun
from lojal.journeys.policy import Rules, parse_hhmm
from lojal.ledger import queries as ledger_queries
from lojal.ledger import service as ledger
from lojal.ledger.models import PointBalance, PointLot
from lojal.members import service as members
from lojal.members.models import Member, MemberIdentity
from lojal.members.schemas import MemberUpdate
from lojal.messaging import service as messaging
from lojal.messaging.models import Message
from lojal.program import service as program_service
from lojal.segments import queries as segment_queries
from lojal.worker import queue

# A run takes at most this many steps in one wake (a journey is at most 50 steps long).
MAX_STEPS_PER_WAKE = 100


def _purposes(definition: JourneyDefinition) -> set[str]:
    return {
        step.send.purpose for step in walk_steps(definition.steps) if isinstance(step, SendStep)
    }


def transactional(definition: JourneyDefinition) -> bool:
    """A journey whose messages are all transactional (a receipt, a renewal notice): exempt
    from every control group."""
    return _purposes(definition) == {"transactional"}


def holdout_of(journey: Journey) -> HoldoutSettings | None:
    """The journey's holdout (keyed by its id, so each journey holds out its own members)."""
    if journey.holdout_percent <= 0:
        return None
    percent = min(float(journey.holdout_percent), MAX_CONTROL_PERCENT)
    return HoldoutSettings(journey_key=str(journey.id), percent=percent)


def household_of(session: Session, member_id: int) -> str:
    email = session.scalar(
        select(MemberIdentity.value)
        .where(MemberIdentity.member_id == member_id, MemberIdentity.kind == "email")
        .order_by(MemberIdentity.id)
        .limit(1)
    )
    return household_key(member_id, email)


def placement_of(
    session: Session, journey: Journey, definition: JourneyDefinition, member_id: int, now: datetime
) -> Placement:
    """Where the member stands for the journey now (``journeys.control.place``)."""
    return place(
        household_of(session, member_id),
        journey_service.control_settings(session, now=now),
        holdout_of(journey),
        transactional=transactional(definition),
    )


def rules_of(session: Session, channel: str) -> Rules:
    policy = session.get(ChannelPolicy, channel)
    if policy is None:
        return Rules()
    return Rules(
        cap_messages=policy.cap_messages,
        cap_days=policy.cap_days,
        quiet_from=parse_hhmm(policy.quiet_from) if policy.quiet_from else None,
        quiet_until=parse_hhmm(policy.quiet_until) if policy.quiet_until else None,
    )


def marketing_sent(session: Session, member_id: int, channel: str, since: datetime) -> int:
    """The member's marketing messages on the channel since ``since`` that went or may go
    out (not those suppressed or failed)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.member_id == member_id,
                Message.channel == channel,
                Message.purpose == "marketing",
                Message.created_at >= since,
                Message.status.in_(("queued", "sent")),
            )
        )
        or 0
    )


def _note(run: JourneyRun, now: datetime, position: Position | None, did: str, **more: Any) -> None:
    entry: dict[str, Any] = {"at": now.isoformat(), "did": did}
    if position is not None:
        entry["step"] = label(position)
    entry.update(more)
    run.history = [*run.history, entry]


def _sleep(
    session: Session, run: JourneyRun, position: Position, until: datetime, now: datetime
) -> None:
    run.position = list(position)
    run.wakes += 1
    run.state = "waiting"
    run.next_at = until
    queue.enqueue(
        session,
        KIND,
        {"run": run.id, "wake": run.wakes},
        now=now,
        run_at=until,
        key=f"journey-run:{run.id}:{run.wakes}",
    )


def _finish(run: JourneyRun, state: str, now: datetime) -> None:
    run.state = state
    run.next_at = None
    run.finished_at = now


def _render(
    session: Session,
    run: JourneyRun,
    journey: Journey,
    definition: JourneyDefinition,
    member: Member,
    text: str,
    now: datetime,
    zone: tzinfo,
) -> str:
    points = 0
    if session.get(PointBalance, member.id) is not None:
        points = ledger_queries.balance_now(session, member.id, now=now).available
    expiring = None
    trigger = definition.trigger
    if trigger.kind == "points_expiring" and trigger.days is not None:
        # the points that expire on the day the trigger warned of
        start, end = day_window(local_day(now, zone) + timedelta(days=trigger.days), zone)
        expiring = int(
            session.scalar(
                select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
                    PointLot.member_id == member.id,
                    PointLot.state != "closed",
                    PointLot.expires_at >= start,
                    PointLot.expires_at < end,
                )
            )
            or 0
        )
    values = {
        "member": {
            "id": member.id,
            "first_name": member.first_name or "",
            "last_name": member.last_name or "",
            "tier": member.tier,
            "attributes": dict(member.attributes or {}),
            "points": points,
        },
        "journey": {"code": journey.code, "name": journey.name},
        "coupon_code": run.context.get("coupon_code"),
        "points_expiring": expiring,
    }
    if "recommendations" in text:  # the member's offer (~10 ms) only for a template that reads it
        values["recommendations"] = recommendations.template_values(
            session, member_id=member.id, now=now
        )
    return TEMPLATES.from_string(text).render(values)


def _campaign(session: Session, ref: int | str) -> CouponCampaign | None:
    if isinstance(ref, int):
        return session.get(CouponCampaign, ref)
    return session.scalar(select(CouponCampaign).where(CouponCampaign.name == ref).limit(1))


def advance(session: Session, run: JourneyRun, *, now: datetime) -> str:
    """Take the run's steps from where it is until a wait or the end; what happened."""
    journey = session.get(Journey, run.journey_id)
    assert journey is not None  # the run goes with its journey
    definition = definition_of(journey)
    member = session.get(Member, run.member_id)
    if member is None or member.status != "active":
        _note(run, now, None, "exited", reason="the member is no longer active")
        _finish(run, "exited", now)
        return "exited"
    if run.state == "entered":
        placement = placement_of(session, journey, definition, member.id, now)
        run.placement = placement.value
        if placement.held_out:
            run.held_out = True
            _note(run, now, None, "held_out", placement=placement.value)
            if "transactional" not in _purposes(definition):
                _finish(run, "held_out", now)
                return "held out"
        position: Position | None = (0,)
    else:
        position = tuple(run.position)
    zone = segment_queries.club_zone(session)
    steps = definition.steps
    for _ in range(MAX_STEPS_PER_WAKE):
        if position is None:
            break
        step = step_at(steps, position)
        if step is None:
            break
        key = f"journey:{run.id}:{label(position)}"
        if isinstance(step, WaitStep):
            until = now + step.wait.duration
            _note(run, now, position, "wait", until=until.isoformat())
            nxt = after(steps, position)
            if nxt is None:
                return _end(run, now)
            _sleep(session, run, nxt, until, now)
            return f"waiting until {until.isoformat()}"
        if isinstance(step, BranchStep):
            holds = bool(
                segment_queries.holding(session, step.branch.when, now=now, only=[member.id])
            )
            _note(run, now, position, "branch", took="then" if holds else "else")
            position = into(steps, position, 0 if holds else 1)
            continue
        if run.held_out and not (
            isinstance(step, SendStep) and step.send.purpose == "transactional"
        ):
            # held out: nothing of the journey but its transactional messages
            _note(run, now, position, "held_out")
            position = after(steps, position)
            continue
        if isinstance(step, SendStep):
            send = step.send
            rules = rules_of(session, send.channel)
            quiet_end = rules.quiet_end(now, zone)
            if quiet_end is not None:
                _note(run, now, position, "quiet_hours", until=quiet_end.isoformat())
                _sleep(session, run, position, quiet_end, now)
                return f"quiet hours until {quiet_end.isoformat()}"
            since = rules.cap_since(now)
            if (
                send.purpose == "marketing"
                and since is not None
                and rules.capped(marketing_sent(session, member.id, send.channel, since))
            ):
                _note(run, now, position, "capped", channel=send.channel)
                position = after(steps, position)
                continue
            template = definition.templates[send.template]
            try:
                body = _render(session, run, journey, definition, member, template.body, now, zone)
                subject = (
                    _render(session, run, journey, definition, member, template.subject, now, zone)
                    if template.subject
                    else None
                )
            except TemplateError as exc:
                _note(run, now, position, "failed", reason=f"the template failed: {exc}")
                position = after(steps, position)
                continue
            (message,) = messaging.send(
                session,
                [
                    messaging.Draft(
                        member_id=member.id,
                        channel=send.channel,
                        body=body,
                        key=key,
                        purpose=send.purpose,
                        subject=subject,
                        data={"journey": journey.code, "run": run.id},
                    )
                ],
                now=now,
                batch=f"journey:{journey.code}",
            )
            if session.get(JourneyMessage, message.id) is None:
                session.add(
                    JourneyMessage(
                        message_id=message.id,
                        journey_id=journey.id,
                        run_id=run.id,
                        member_id=member.id,
                        step=label(position),
                        created_at=now,
                    )
                )
            _note(run, now, position, "sent", channel=send.channel, message=message.id)
            position = after(steps, position)
            continue
        if isinstance(step, CouponStep):
            campaign = _campaign(session, step.coupon.campaign)
            if campaign is None:
                _note(run, now, position, "failed", reason="the coupon campaign is gone")
            else:
                code = coupons.issue_code(
                    session,
                    campaign_id=campaign.id,
                    reference=key,
                    member_id=member.id,
                    now=now,
                    expires_at=now + timedelta(days=step.coupon.valid_days)
                    if step.coupon.valid_days
                    else None,
                )
                run.context = {**run.context, "coupon_code": code.code}
                _note(run, now, position, "coupon", code=code.code)
            position = after(steps, position)
            continue
        if isinstance(step, PointsStep):
            config = program_service.current(session)
            entry = ledger.earn(
                session,
                member_id=member.id,
                points=step.points.points,
                key=key,
                earned_at=now,
                now=now,
                config=config,
                source=f"journey:{journey.code}",
                explanation=f"+{step.points.points} {config.point_name}: {step.points.reason}",
                detail={"journey": journey.code, "run": run.id},
            )
            _note(run, now, position, "points", points=step.points.points, entry=entry.id)
            position = after(steps, position)
            continue
        if isinstance(step, AttributeStep):
            attribute = step.attribute
            members.update_member(
                session,
                member_id=member.id,
                data=MemberUpdate(attributes={attribute.key: attribute.value}),
                now=now,
            )
            _note(run, now, position, "attribute", key=attribute.key)
            position = after(steps, position)
            continue
        raise AssertionError(type(step))
    return _end(run, now)


def _end(run: JourneyRun, now: datetime) -> str:
    state = "held_out" if run.held_out else "done"
    _finish(run, state, now)
    return state.replace("_", " ")
