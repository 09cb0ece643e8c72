from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from lojal.inputs import MAX_ID
from lojal.web.deps import API_PREFIX, Admin, AdminWrite, SessionDep
from lojal.web.writer import Reply
from lojal.webhooks import service
from lojal.webhooks.models import WebhookEndpoint
from lojal.webhooks.schemas import (
    Delivery,
    EndpointCreate,
    EndpointRead,
    EndpointSecret,
    EndpointUpdate,
)

router = APIRouter(prefix=API_PREFIX, tags=["webhooks"])
EndpointId = Annotated[int, Path(ge=1, le=MAX_ID, description="The endpoint's id")]


def _with_secrets(endpoint: WebhookEndpoint) -> EndpointSecret:
    return EndpointSecret(endpoint=service.to_read(endpoint), secrets=list(endpoint.secrets))


@router.post("/webhook-endpoints", response_model=EndpointSecret, status_code=201)
async def create(body: EndpointCreate, write: AdminWrite) -> Response:
    """Add an endpoint; the answer shows its signing secret (Standard Webhooks)."""

    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(_with_secrets(service.create(session, data=body, now=now)), 201)

    return await write(work)


@router.get("/webhook-endpoints", response_model=list[EndpointRead])
def list_endpoints(session: SessionDep, _: Admin) -> list[EndpointRead]:
    return [service.to_read(e) for e in service.list_all(session)]


@router.get("/webhook-endpoints/{endpoint_id}", response_model=EndpointRead)
def get(endpoint_id: EndpointId, session: SessionDep, _: Admin) -> EndpointRead:
    return service.to_read(service.get(session, endpoint_id))


@router.patch("/webhook-endpoints/{endpoint_id}", response_model=EndpointRead)
async def update(endpoint_id: EndpointId, body: EndpointUpdate, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        endpoint = service.update(session, endpoint_id=endpoint_id, data=body, now=now)
        return Reply.of(service.to_read(endpoint), 200)

    return await write(work)


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret", response_model=EndpointSecret)
async def rotate(endpoint_id: EndpointId, write: AdminWrite) -> Response:
    """A new secret; the old one keeps signing beside it until retired."""

    def work(session: Session, now: datetime) -> Reply:
        endpoint = service.rotate_secret(session, endpoint_id=endpoint_id, now=now)
        return Reply.of(_with_secrets(endpoint), 200)

    return await write(work)


@router.post("/webhook-endpoints/{endpoint_id}/retire-secrets", response_model=EndpointSecret)
async def retire(endpoint_id: EndpointId, write: AdminWrite) -> Response:
    """Only the newest secret signs from now on."""

    def work(session: Session, now: datetime) -> Reply:
        endpoint = service.retire_secrets(session, endpoint_id=endpoint_id, now=now)
        return Reply.of(_with_secrets(endpoint), 200)

    return await write(work)


@router.get("/webhook-endpoints/{endpoint_id}/deliveries", response_model=list[Delivery])
def deliveries(
    endpoint_id: EndpointId,
    session: SessionDep,
    _: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Delivery]:
    """The messages for this endpoint, newest first: delivered, waiting (and when it is
    tried next), or dead with the reason."""
    return service.deliveries(session, endpoint_id=endpoint_id, limit=limit)
