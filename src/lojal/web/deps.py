"""Request dependencies: the session of a read (one read-only transaction per request), the
writer of a write (``Write``: the unit of work, committed before the response is sent), the
clock, the programme, and the caller's API key.

Dependencies that need no database are ``async``: FastAPI runs a plain ``def`` dependency on
the thread pool, a hop that costs more than the dependency itself."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session

from lojal.clock import Clock
from lojal.config import Settings
from lojal.db.session import HeldReader, transaction
from lojal.inputs import MAX_ID
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.staff import service as staff
from lojal.staff.errors import InvalidApiKey, MissingScope
from lojal.staff.service import Principal
from lojal.web.idempotency import MAX_KEY_LENGTH, Claim, IdempotencyKeyInvalid
from lojal.web.writer import Batch, Job, Reply, Writer

API_PREFIX = "/api/v1"


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_now(clock: Annotated[Clock, Depends(get_clock)]) -> datetime:
    return clock.now()


def get_session(request: Request) -> Iterator[Session]:
    read_only = request.method in ("GET", "HEAD")
    with transaction(request.app.state.session_factory, read_only=read_only) as session:
        yield session


MemberIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The member's id")]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]


def get_program(session: SessionDep) -> ProgramConfig:
    return program_service.current(session)


ProgramDep = Annotated[ProgramConfig, Depends(get_program)]


class ApiKeyAuth(SecurityBase):
    """The caller's API key, which must have ``admin`` or one of ``scopes``; in OpenAPI, the
    ``HTTPBearer`` scheme.

    One dependency reads the ``Authorization`` header, authenticates the key and checks its
    scope: FastAPI spends ~30 µs on each dependency it resolves, and the key, the bearer
    header and the scope as three nested ones were ~85 µs of every till request (a coupon
    validation is ~0.5 ms in all)."""

    def __init__(self, *scopes: str) -> None:
        self.model = HTTPBearerModel(description="An API key from `lojal keys create`")
        self.scheme_name = "HTTPBearer"
        self.scopes = scopes

    async def __call__(self, request: Request) -> Principal:
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        if not token or scheme.lower() != "bearer":
            raise InvalidApiKey("send an API key as 'Authorization: Bearer <key>'")
        principal = await principal_of(request, token)
        if not any(principal.allows(scope) for scope in self.scopes):
            raise MissingScope(f"this API key needs one of the scopes: {', '.join(self.scopes)}")
        return principal


async def principal_of(request: Request, token: str) -> Principal:
    """The key's principal. The secret (a peppered hash) is checked once per process and key;
    every request then confirms that the key has not been revoked since, with one primary-key
    read — on SQLite on the event loop, on the app's held connection; on PostgreSQL on the
    thread pool — so ``lojal keys revoke`` takes effect from the next request on, whichever
    process revoked it."""
    cache: dict[str, Principal] = request.app.state.auth_cache
    principal = cache.get(token)
    if principal is None:
        principal = await run_in_threadpool(_authenticate, request, token)
        if len(cache) > 10_000:
            cache.clear()
        cache[token] = principal
    elif await _revoked(request, principal.key_id):
        del cache[token]
        raise InvalidApiKey("the API key is unknown or revoked")
    return principal


def _authenticate(request: Request, token: str) -> Principal:
    with transaction(request.app.state.session_factory, read_only=True) as session:
        return staff.authenticate(
            session, token=token, pepper=request.app.state.settings.api_key_pepper
        )


async def _revoked(request: Request, key_id: int) -> bool:
    reader: HeldReader | None = request.app.state.reader
    if reader is not None:
        with reader.read() as session:
            return staff.is_revoked(session, key_id=key_id)

    def read() -> bool:
        with transaction(request.app.state.session_factory, read_only=True) as session:
            return staff.is_revoked(session, key_id=key_id)

    return await run_in_threadpool(read)


Admin = Annotated[Principal, Depends(ApiKeyAuth("admin"))]
# Tills, web shops and apps: anything a channel does for a member.
Channel = Annotated[Principal, Depends(ApiKeyAuth("pos", "integration"))]


class Write:
    """A write request's way to the writer (``lojal.web.writer``): ``await write(work)`` runs
    ``work(session, now)`` in the writer's transaction and gives back the committed answer as a
    response; ``await write.batch(kind, payload)`` does the same for a job that the writer may
    do together with others of its kind. The request's ``Idempotency-Key`` goes with it."""

    def __init__(self, writer: Writer, claim: Claim | None, principal: Principal) -> None:
        self.writer = writer
        self.claim = claim
        self.principal = principal
        self.actor = f"key:{principal.key_id} {principal.name}"

    async def __call__(self, work: Callable[[Session, datetime], Reply]) -> Response:
        job = Job(work=work, claim=self.claim, actor=self.actor)
        return _response(await self.writer.submit(job))

    async def batch(self, kind: Batch, payload: Any) -> Response:
        job = Job(batch=kind, payload=payload, claim=self.claim, actor=self.actor)
        reply = await self.writer.submit(job)
        return _response(reply)


def _response(reply: Reply) -> Response:
    headers = {"Idempotent-Replayed": "true"} if reply.replayed else {}
    if reply.status == 503:  # the database stayed busy: the client may retry shortly
        headers["Retry-After"] = "1"
    return Response(reply.body, reply.status, headers, media_type="application/json")


def writes_for(*scopes: str) -> Callable[..., Coroutine[Any, Any, Write]]:
    """The ``Write`` of a request whose API key has ``admin`` or one of ``scopes``: the key and
    its scope (``ApiKeyAuth``) and the ``Idempotency-Key`` in one dependency (each dependency
    FastAPI resolves costs time on every request)."""

    async def get_write(
        request: Request,
        # a default, not ``Annotated``: annotations are strings here and ``scopes`` is local
        principal: Principal = Depends(ApiKeyAuth(*scopes)),
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                description="Send the same key again to get the first answer again, not a "
                "second write (1-255 characters; scoped to your API key).",
            ),
        ] = None,
    ) -> Write:
        claim = None
        if idempotency_key is not None:
            key = idempotency_key.strip()
            if not key or len(key) > MAX_KEY_LENGTH:
                raise IdempotencyKeyInvalid(
                    "Idempotency-Key must be 1-255 characters", field="Idempotency-Key"
                )
            claim = Claim.of(
                caller=str(principal.key_id),
                key=key,
                method=request.method,
                path=request.url.path,
                query=request.url.query.encode(),
                body=await request.body(),
            )
        return Write(request.app.state.writer, claim, principal)

    return get_write


# A write by a till, web shop or app (scopes pos, integration), or by an admin key only.
ChannelWrite = Annotated[Write, Depends(writes_for("pos", "integration"))]
AdminWrite = Annotated[Write, Depends(writes_for("admin"))]
