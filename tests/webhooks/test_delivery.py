"""Webhooks end to end on SQLite and PostgreSQL: the club's facts enqueued in their
transaction, signed messages at a local receiver, the retry schedule, Retry-After, 410."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from lojal.activities.events import EventRecorded, PurchaseRecorded
from lojal.clock import FixedClock
from lojal.db.session import make_session_factory, transaction
from lojal.webhooks import events, service
from lojal.webhooks.delivery import WebhookHandler
from lojal.webhooks.models import WebhookEndpoint
from lojal.webhooks.schemas import EndpointCreate
from lojal.worker.kinds import Context
from lojal.worker.models import Job
from lojal.worker.runner import Worker
from tests.webhooks.receiver import Receiver, receiving

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _now_is_the_test_start() -> None:
    """A signature is verified against the wall clock (5 minutes of tolerance): the messages'
    time is the test's start, not the module's import, which a long run leaves far behind."""
    global NOW
    NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def factory(fresh_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(fresh_engine)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


def _purchase(n: int, points: int = 10) -> PurchaseRecorded:
    return PurchaseRecorded(n, f"o-{n}", 1, NOW, "store", "s1", 12_000, points, [], False)


def _endpoint(factory: sessionmaker[Session], url: str, types: list[str] | None = None) -> str:
    with transaction(factory) as session:
        e = service.create(session, data=EndpointCreate(url=url, event_types=types or []), now=NOW)
        return e.secrets[0]


def _worker(factory: sessionmaker[Session], clock: FixedClock) -> Worker:
    handler = WebhookHandler(Context(factory, clock), concurrency=4)
    return Worker(factory, clock, {handler.kind: handler})


def _jobs(factory: sessionmaker[Session]) -> list[Job]:
    with transaction(factory) as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def test_facts_become_signed_messages_once(
    factory: sessionmaker[Session], receiver: Receiver
) -> None:
    secret = _endpoint(factory, receiver.url + "/hook", ["points.earned", "tier.changed"])
    with transaction(factory) as session:
        events.on_purchases(session, [_purchase(1), _purchase(2, points=0)], NOW)
        events.on_purchases(session, [_purchase(1)], NOW)  # the same fact again
        events.on_events(session, [EventRecorded(7, 1, "tier_changed", NOW, {"to": "gold"})], NOW)
    assert len(_jobs(factory)) == 2  # points of purchase 1, the tier change
    clock = FixedClock(NOW)
    worker = _worker(factory, clock)
    try:
        assert worker.turn().done == 2
    finally:
        worker.close()
    got = {orjson.loads(r.body)["type"]: r for r in receiver.received}
    assert set(got) == {"points.earned", "tier.changed"}
    points = got["points.earned"]
    assert points.path == "/hook"
    assert Webhook(secret).verify(points.body, points.headers)["data"]["points"] == 10
    assert points.headers["webhook-id"].startswith("msg_")
    assert points.headers["webhook-timestamp"] == str(int(NOW.timestamp()))


def test_failures_are_retried_on_the_schedule_and_retry_after_is_honoured(
    factory: sessionmaker[Session], receiver: Receiver
) -> None:
    _endpoint(factory, receiver.url)
    receiver.script = [(500, {}), (429, {"Retry-After": "120"})]
    with transaction(factory) as session:
        events.publish(session, [("event.recorded", "e:1", {"n": 1})], NOW)
    clock = FixedClock(NOW)
    worker = _worker(factory, clock)
    try:
        assert worker.turn().retried == 1
        (job,) = _jobs(factory)
        assert timedelta(seconds=4.5) <= job.run_at - NOW <= timedelta(seconds=5.5)
        assert job.last_error is not None
        assert job.last_error.endswith("answered 500")
        clock.at = job.run_at
        assert worker.turn().retried == 1
        (job,) = _jobs(factory)
        assert job.run_at == clock.at + timedelta(seconds=120)
        clock.at = job.run_at
        assert worker.turn().done == 1
    finally:
        worker.close()
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert len(receiver.received) == 3
    assert len(ids) == 1  # the same message each time


def test_410_turns_the_endpoint_off(factory: sessionmaker[Session], receiver: Receiver) -> None:
    _endpoint(factory, receiver.url)
    receiver.script = [(410, {})]
    with transaction(factory) as session:
        events.publish(session, [("event.recorded", "e:1", {"n": 1})], NOW)
    clock = FixedClock(NOW)
    worker = _worker(factory, clock)
    try:
        assert worker.turn().dead == 1
    finally:
        worker.close()
    (job,) = _jobs(factory)
    assert job.state == "dead"
    assert job.last_error is not None
    assert job.last_error.startswith("410 Gone")
    with transaction(factory) as session:
        (endpoint,) = session.scalars(select(WebhookEndpoint))
        assert (endpoint.active, endpoint.disabled_reason) == (False, "410 Gone")
        assert events.publish(session, [("event.recorded", "e:2", {})], NOW) == 0


def test_rotation_signs_with_both_secrets_until_retired(
    factory: sessionmaker[Session], receiver: Receiver
) -> None:
    old = _endpoint(factory, receiver.url)
    with transaction(factory) as session:
        (endpoint,) = session.scalars(select(WebhookEndpoint))
        new = service.rotate_secret(session, endpoint_id=endpoint.id, now=NOW).secrets[0]
        events.publish(session, [("event.recorded", "e:1", {"n": 1})], NOW)
    worker = _worker(factory, FixedClock(NOW))
    try:
        worker.turn()
    finally:
        worker.close()
    (got,) = receiver.received
    for secret in (old, new):
        Webhook(secret).verify(got.body, got.headers)
