"""Webhook endpoints: add, change, rotate the secret, turn off; what was sent to one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.errors import Invalid, NotFound
from lojal.webhooks import signing
from lojal.webhooks.events import KIND
from lojal.webhooks.models import WebhookEndpoint
from lojal.webhooks.schemas import Delivery, EndpointCreate, EndpointRead, EndpointUpdate
from lojal.worker.models import Job

# While a secret is rotated the old ones keep signing too, up to this many in all.
MAX_SECRETS = 3


class EndpointNotFound(NotFound):
    pass


class SecretInvalid(Invalid):
    pass


def create(session: Session, *, data: EndpointCreate, now: datetime) -> WebhookEndpoint:
    secret = data.secret or signing.new_secret()
    try:
        signing.key_of(secret)
    except ValueError as exc:
        raise SecretInvalid(str(exc), field="secret") from exc
    endpoint = WebhookEndpoint(
        url=data.url,
        description=data.description,
        secrets=[secret],
        event_types=data.event_types,
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def get(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise EndpointNotFound(f"there is no webhook endpoint {endpoint_id}")
    return endpoint


def list_all(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def update(
    session: Session, *, endpoint_id: int, data: EndpointUpdate, now: datetime
) -> WebhookEndpoint:
    endpoint = get(session, endpoint_id)
    if data.url is not None:
        endpoint.url = data.url
    if "description" in data.model_fields_set:
        endpoint.description = data.description
    if data.event_types is not None:
        endpoint.event_types = data.event_types
    if data.active is not None:
        endpoint.active = data.active
        endpoint.disabled_reason = None if data.active else "turned off"
    endpoint.updated_at = now
    session.flush()
    return endpoint


def rotate_secret(session: Session, *, endpoint_id: int, now: datetime) -> WebhookEndpoint:
    """A new secret signs from now on; the previous ones go on signing beside it (receivers
    switch at their pace) until ``MAX_SECRETS`` pushes the oldest out, or ``retire_secrets``."""
    endpoint = get(session, endpoint_id)
    endpoint.secrets = [signing.new_secret(), *endpoint.secrets][:MAX_SECRETS]
    endpoint.updated_at = now
    session.flush()
    return endpoint


def retire_secrets(session: Session, *, endpoint_id: int, now: datetime) -> WebhookEndpoint:
    """Keep only the newest secret."""
    endpoint = get(session, endpoint_id)
    endpoint.secrets = endpoint.secrets[:1]
    endpoint.updated_at = now
    session.flush()
    return endpoint


def disable(session: Session, *, endpoint_id: int, reason: str, now: datetime) -> None:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is not None and endpoint.active:
        endpoint.active = False
        endpoint.disabled_reason = reason[:500]
        endpoint.updated_at = now
        session.flush()


def to_read(endpoint: WebhookEndpoint) -> EndpointRead:
    return EndpointRead(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=endpoint.event_types,
        active=endpoint.active,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def deliveries(session: Session, *, endpoint_id: int, limit: int = 100) -> list[Delivery]:
    """The messages for an endpoint, newest first, with where each stands."""
    get(session, endpoint_id)
    prefix = f"webhook:{endpoint_id}:"
    jobs = session.scalars(
        select(Job)
        .where(Job.kind == KIND, Job.key.startswith(prefix, autoescape=True))
        .order_by(Job.id.desc())
        .limit(limit)
    )
    return [
        Delivery(
            job_id=j.id,
            webhook_id=j.payload["msg"],
            type=j.payload["type"],
            state=j.state,
            attempts=j.attempts,
            next_try_at=j.run_at if j.state == "queued" else None,
            last_error=j.last_error,
        )
        for j in jobs
    ]
