"""The admin API for API keys: make, list, rotate and revoke. Every change is in the audit
log (``lojal.audit``: the key's row, never its secret)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy.orm import Session

from lojal.staff import service
from lojal.staff.schemas import ApiKeyCreate, ApiKeyRead, ApiKeyRotate, ApiKeySecret
from lojal.web.deps import API_PREFIX, Admin, AdminWrite, NowDep, SessionDep, SettingsDep
from lojal.web.writer import Reply

router = APIRouter(prefix=API_PREFIX, tags=["api keys"])
Prefix = Annotated[
    str, Path(min_length=1, max_length=16, pattern=r"^[0-9a-f]+$", description="The key's prefix")
]


@router.post("/api-keys", response_model=ApiKeySecret, status_code=201)
async def create(body: ApiKeyCreate, settings: SettingsDep, write: AdminWrite) -> Response:
    """Make a key; the answer holds the key itself, shown this once."""

    def work(session: Session, now: datetime) -> Reply:
        row, key = service.create_key(
            session,
            name=body.name,
            kind=body.kind,
            store_id=body.store_id,
            expires_at=body.expires_at,
            pepper=settings.api_key_pepper,
            now=now,
        )
        return Reply.of(ApiKeySecret(key=key, api_key=service.to_read(row, now)), 201)

    return await write(work)


@router.get("/api-keys", response_model=list[ApiKeyRead])
def list_keys(session: SessionDep, now: NowDep, _: Admin) -> list[ApiKeyRead]:
    return [service.to_read(row, now) for row in service.list_keys(session)]


@router.get("/api-keys/{prefix}", response_model=ApiKeyRead)
def get(prefix: Prefix, session: SessionDep, now: NowDep, _: Admin) -> ApiKeyRead:
    return service.to_read(service.get_key(session, prefix), now)


@router.post("/api-keys/{prefix}/rotate", response_model=ApiKeySecret)
async def rotate(
    prefix: Prefix, body: ApiKeyRotate, settings: SettingsDep, write: AdminWrite
) -> Response:
    """A new secret for the key, shown this once; the current one works on for the overlap."""

    def work(session: Session, now: datetime) -> Reply:
        row, key = service.rotate(
            session,
            prefix=prefix,
            overlap=timedelta(seconds=body.overlap_seconds),
            pepper=settings.api_key_pepper,
            now=now,
        )
        return Reply.of(ApiKeySecret(key=key, api_key=service.to_read(row, now)), 200)

    return await write(work)


@router.post("/api-keys/{prefix}/revoke", response_model=ApiKeyRead)
async def revoke(prefix: Prefix, write: AdminWrite) -> Response:
    """The key stops working at once, in every server process (and an app key's member
    sessions with it)."""

    def work(session: Session, now: datetime) -> Reply:
        return Reply.of(service.to_read(service.revoke(session, prefix=prefix, now=now), now), 200)

    return await write(work)
