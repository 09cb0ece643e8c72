"""Which of the club's facts become which webhook messages, enqueued in the transaction that
records the facts (``lojal.reactions`` calls the ``on_*`` functions).

Every message has a natural key (``points.earned:purchase:812``): the job key per endpoint
and the ``webhook-id``, so a fact recorded twice (a replayed request, an import run again) is
one message. With no active endpoint this costs one small query per batch: the messages are
generators, built only when some endpoint will receive them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded, PurchaseRecorded, ReturnRecorded
from lojal.db.driver import Driver
from lojal.webhooks.models import WebhookEndpoint
from lojal.webhooks.signing import message_id
from lojal.worker import queue

KIND = "webhook"
EVENT_TYPES = (
    "member.enrolled",
    "purchase.recorded",
    "points.earned",
    "return.recorded",
    "tier.changed",
    "membership.changed",
    "member.merged",
    "reward.redeemed",
    "segment.entered",
    "segment.left",
    "event.recorded",
)

Message = tuple[str, str, dict[str, Any]]  # type, natural key, data


def _time(value: datetime) -> str:
    return value.isoformat()


def publish(session: Session, messages: Iterable[Message], now: datetime) -> int:
    """Enqueue each message for every active endpoint subscribed to its type; how many jobs
    that made. Other features call it for their own events (``reward.redeemed``,
    ``segment.entered``): ``publish(session, [(type, natural_key, data)], now)``. The messages
    are read only when an endpoint is active."""
    if isinstance(messages, Sequence) and not messages:
        return 0
    # asked on every purchase: the driver first (~10 µs), the ORM only when there is an endpoint
    if not Driver.of(session).all(
        "SELECT 1 FROM webhook_endpoints WHERE active = ? LIMIT 1", (True,)
    ):
        return 0
    endpoints = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(WebhookEndpoint.active)
    ).all()
    if not endpoints:
        return 0
    jobs = []
    for type_, natural, data in messages:
        body: bytes | None = None
        for endpoint_id, types in endpoints:
            if types and type_ not in types:
                continue
            if body is None:
                body = orjson.dumps({"type": type_, "timestamp": _time(now), "data": data})
            jobs.append(
                queue.NewJob(
                    KIND,
                    {
                        "endpoint": endpoint_id,
                        "msg": message_id(natural),
                        "type": type_,
                        "body": body.decode(),
                    },
                    key=f"webhook:{endpoint_id}:{natural}"[:200],
                )
            )
    queue.enqueue_many(session, jobs, now=now)
    return len(jobs)


def on_purchases(session: Session, purchases: Sequence[PurchaseRecorded], now: datetime) -> None:
    if not purchases:
        return
    publish(session, _purchase_messages(purchases), now)


def _purchase_messages(purchases: Sequence[PurchaseRecorded]) -> Iterator[Message]:
    for p in purchases:
        data = {
            "member_id": p.member_id,
            "purchase_id": p.purchase_id,
            "order_id": p.order_id,
            "occurred_at": _time(p.occurred_at),
            "channel": p.channel,
            "store_id": p.store_id,
            "total_minor": p.total_minor,
            "points": p.points,
        }
        yield ("purchase.recorded", f"purchase.recorded:{p.purchase_id}", data)
        if p.points > 0:
            yield ("points.earned", f"points.earned:purchase:{p.purchase_id}", data)


def on_returns(session: Session, returns: Sequence[ReturnRecorded], now: datetime) -> None:
    if not returns:
        return
    publish(
        session,
        (
            (
                "return.recorded",
                f"return.recorded:{r.return_id}",
                {
                    "member_id": r.member_id,
                    "return_id": r.return_id,
                    "purchase_id": r.purchase_id,
                    "order_id": r.order_id,
                    "occurred_at": _time(r.occurred_at),
                    "total_minor": r.total_minor,
                    "points_clawed_back": r.points_clawed_back,
                    "whole_order_returned": r.whole_order_returned,
                },
            )
            for r in returns
        ),
        now,
    )


def type_of(event_type: str) -> str:
    """The webhook type of a recorded event: lojal's own have theirs, custom events are
    ``event.recorded``."""
    if event_type == "tier_changed":
        return "tier.changed"
    if event_type.startswith("membership_"):
        return "membership.changed"
    if event_type == "member_merged":
        return "member.merged"
    return "event.recorded"


def on_events(session: Session, events: Sequence[EventRecorded], now: datetime) -> None:
    if not events:
        return
    publish(
        session,
        (
            (
                type_of(e.type),
                f"event:{e.event_id}",
                {
                    "member_id": e.member_id,
                    "event_id": e.event_id,
                    "event_type": e.type,
                    "occurred_at": _time(e.occurred_at),
                    "properties": e.properties,
                },
            )
            for e in events
        ),
        now,
    )


def on_enrolment(session: Session, member_id: int, channel: str, now: datetime) -> None:
    publish(
        session,
        [
            (
                "member.enrolled",
                f"member.enrolled:{member_id}",
                {"member_id": member_id, "channel": channel, "enrolled_at": _time(now)},
            )
        ],
        now,
    )
