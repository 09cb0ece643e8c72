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

from lojal.access import handles
from lojal.access import service as member_sessions
from lojal.access.errors import HandleRequired
from lojal.clock import Clock
from lojal.config import Settings
from lojal.db.session import HeldReader, transaction
from lojal.inputs import MAX_ID
from lojal.members.errors import MemberNotFound
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


SettingsDep = Annotated[Settings, Depends(get_settings)]


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
    """The caller's credential, which must be of one of ``kinds`` (``lojal.staff.service``
    says what each kind is); in OpenAPI, the ``HTTPBearer`` scheme. A till's
    ``Lojal-Member-Handle`` and the member a member session is for are checked here too: a
    request whose path names a member (``{member_id}``) is for that member only
    (``Principal.member_id``).

    One dependency reads the ``Authorization`` header, authenticates the key and checks its
    kind: FastAPI spends ~30 µs on each dependency it resolves, and the key, the bearer
    header and the scope as three nested ones were ~85 µs of every till request (a coupon
    validation is ~0.5 ms in all)."""

    def __init__(self, *kinds: str) -> None:
        self.model = HTTPBearerModel(description="An API key from `lojal keys create`")
        self.scheme_name = "HTTPBearer"
        self.kinds = frozenset(kinds)
        self.refusal = f"this operation needs a key of kind {' or '.join(sorted(self.kinds))}"

    async def __call__(self, request: Request) -> Principal:
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        if not token or scheme.lower() != "bearer":
            raise InvalidApiKey("send an API key as 'Authorization: Bearer <key>'")
        principal = await principal_of(request, token)
        if principal.kind not in self.kinds:
            raise MissingScope(self.refusal)
        return _for_whom(request, principal)


def _for_whom(request: Request, principal: Principal) -> Principal:
    """The principal of this request: a till's member from its handle; a path that names a
    member checked against the one member a till or a member session may reach."""
    if principal.kind == "till":
        handle = request.headers.get(handles.HEADER)
        if handle:
            member = handles.member_of(
                handle,
                pepper=request.app.state.settings.api_key_pepper,
                key_id=principal.key_id,
                now=request.app.state.clock.now(),
            )
            if member is None:
                raise HandleRequired(
                    f"the {handles.HEADER} is not this till's or has expired: "
                    "look the member up again (GET /api/v1/till/members)"
                )
            principal = principal.for_member(member)
    named = request.path_params.get("member_id")
    if named is None or principal.kind not in ("till", "member") or not named.isdigit():
        return principal
    if int(named) == principal.member_id:
        return principal
    if principal.kind == "member":  # the same answer as for a member that does not exist
        raise MemberNotFound(f"member {int(named)} not found")
    raise HandleRequired(
        f"a till reaches a member only through a lookup at the till: send the {handles.HEADER} "
        "that GET /api/v1/till/members gave for this member"
    )


class Credentials:
    """The credentials this process has checked, as of one access revision. Every request
    reads the revision (one primary-key read); while it has not moved, a checked key is
    trusted from memory (its expiry is checked here, on the clock). When it moves (a key
    revoked or rotated, a member session signed out, in any process), everything is forgotten
    and each key is checked again on its next request."""

    def __init__(self) -> None:
        self.revision: int | None = None
        self.principals: dict[str, Principal] = {}

    def at(self, revision: int) -> None:
        if revision != self.revision:
            self.principals.clear()
            self.revision = revision

    def keep(self, token: str, principal: Principal, revision: int) -> None:
        if revision != self.revision:  # checked against another revision: not kept
            return
        if len(self.principals) > 10_000:
            self.principals.clear()
        self.principals[token] = principal


async def principal_of(request: Request, token: str) -> Principal:
    """The credential's principal: the access revision read — on SQLite on the event loop, on
    the app's held connection; on PostgreSQL on the thread pool — then the principal from
    memory, or checked (a peppered hash: once per process, key and revision), so that
    ``lojal keys revoke`` takes effect from the next request on, whichever process revoked
    it."""
    held: Credentials = request.app.state.auth_cache
    now = request.app.state.clock.now()
    held.at(await _revision(request))
    principal = held.principals.get(token)
    if principal is None:
        checked, revision = await run_in_threadpool(_authenticate, request, token, now)
        held.keep(token, checked, revision)
        principal = checked
    if principal.expires_at is not None and principal.expires_at <= now:
        raise InvalidApiKey("the API key has expired")
    return principal


def _authenticate(request: Request, token: str, now: datetime) -> tuple[Principal, int]:
    pepper = request.app.state.settings.api_key_pepper
    with transaction(request.app.state.session_factory, read_only=True) as session:
        # the revision first: a change committed after it moves it, so the principal read
        # after it is kept for that revision at most
        revision = staff.revision(session)
        if token.startswith("lojalm_"):
            principal = member_sessions.authenticate(session, token=token, pepper=pepper, now=now)
        else:
            principal = staff.authenticate(session, token=token, pepper=pepper, now=now)
        return principal, revision


async def _revision(request: Request) -> int:
    reader: HeldReader | None = request.app.state.reader
    if reader is not None:
        with reader.read() as session:
            return staff.revision(session)

    def read() -> int:
        with transaction(request.app.state.session_factory, read_only=True) as session:
            return staff.revision(session)

    return await run_in_threadpool(read)


# Who may call what (``lojal.staff.service`` describes the kinds; an admin key may call all):
Admin = Annotated[Principal, Depends(ApiKeyAuth("admin"))]
# The web shop only: searching members by any identity, reading one by id, changing identities.
Shop = Annotated[Principal, Depends(ApiKeyAuth("admin", "integration"))]
# The web shop and the till (the till for its handle's member): purchases, returns, spending.
Channel = Annotated[Principal, Depends(ApiKeyAuth("admin", "integration", "till"))]
# What a member app shows its member, the web shop too; not a till.
ShopOrMember = Annotated[Principal, Depends(ApiKeyAuth("admin", "integration", "member"))]
# What the till shows at the counter, the web shop and the member's app too.
ChannelOrMember = Annotated[
    Principal, Depends(ApiKeyAuth("admin", "integration", "till", "member"))
]
# The programme's public catalogue (rewards, tiers, plans): every kind, an app key too.
Catalogue = Annotated[
    Principal, Depends(ApiKeyAuth("admin", "integration", "till", "app", "member"))
]
# A member app's publishable key, signing its member in.
App = Annotated[Principal, Depends(ApiKeyAuth("app"))]
# A member session.
MemberOnly = Annotated[Principal, Depends(ApiKeyAuth("member"))]


class Write:
    """A write request's way to the writer (``lojal.web.writer``): ``await write(work)`` runs
    ``work(session, now)`` in the writer's transaction and gives back the committed answer as a
    response; ``await write.batch(kind, payload)`` does the same for a job that the writer may
    do together with others of its kind. The request's ``Idempotency-Key`` goes with it."""

    def __init__(self, writer: Writer, claim: Claim | None, principal: Principal) -> None:
        self.writer = writer
        self.claim = claim
        self.principal = principal
        self.actor = principal.actor

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
    if reply.retry_after is not None:
        headers["Retry-After"] = str(max(1, reply.retry_after))
    return Response(reply.body, reply.status, headers, media_type="application/json")


def writes_for(*kinds: str) -> Callable[..., Coroutine[Any, Any, Write]]:
    """The ``Write`` of a request whose credential is of one of ``kinds``: the key and its kind
    (``ApiKeyAuth``) and the ``Idempotency-Key`` in one dependency (each dependency FastAPI
    resolves costs time on every request)."""

    async def get_write(
        request: Request,
        # a default, not ``Annotated``: annotations are strings here and ``kinds`` is local
        principal: Principal = Depends(ApiKeyAuth(*kinds)),
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
                caller=principal.caller,
                key=key,
                method=request.method,
                path=request.url.path,
                query=request.url.query.encode(),
                body=await request.body(),
            )
        return Write(request.app.state.writer, claim, principal)

    return get_write


# Writes, by who may make them (as the reads above).
AdminWrite = Annotated[Write, Depends(writes_for("admin"))]
ShopWrite = Annotated[Write, Depends(writes_for("admin", "integration"))]
ChannelWrite = Annotated[Write, Depends(writes_for("admin", "integration", "till"))]
ShopOrMemberWrite = Annotated[Write, Depends(writes_for("admin", "integration", "member"))]
ChannelOrMemberWrite = Annotated[
    Write, Depends(writes_for("admin", "integration", "till", "member"))
]
AppWrite = Annotated[Write, Depends(writes_for("app"))]
MemberOnlyWrite = Annotated[Write, Depends(writes_for("member"))]
