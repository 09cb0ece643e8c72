"""Coupons over HTTP: campaigns and codes (admin), and validate / reserve / commit / release for
tills and web shops.

Validation is a read (a read-only transaction; on SQLite on the event loop, see ``_reading``):
a right code writes nothing. Only a wrong code is written — its count against the caller,
through the writer — and each caller is admitted by the brute-force guard before its code is
looked at (``lojal.coupons.guard``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from lojal.access import policy
from lojal.coupons import guard, queries, redemptions, service, validation
from lojal.coupons.codes import display
from lojal.coupons.errors import WrongCode
from lojal.coupons.guard import Caller, Tally
from lojal.coupons.models import CouponCode, CouponRedemption
from lojal.coupons.schemas import (
    BatchCreate,
    BatchRead,
    CampaignCreate,
    CampaignRead,
    CampaignReport,
    CampaignUpdate,
    CodePage,
    CodeRead,
    CommitRequest,
    CouponCheck,
    IssueRequest,
    RedemptionRead,
    ReleaseRequest,
    ReserveRequest,
    ValidationRead,
)
from lojal.db.session import HeldReader, transaction
from lojal.inputs import MAX_ID
from lojal.staff.service import Principal
from lojal.web.deps import (
    API_PREFIX,
    Admin,
    AdminWrite,
    Channel,
    ChannelOrMember,
    ChannelWrite,
    MemberIdPath,
    SessionDep,
    Write,
)
from lojal.web.writer import Job, Reply

router = APIRouter(prefix=API_PREFIX, tags=["coupons"])
CampaignIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The campaign's id")]
JSON = "application/json"


def code_read(row: CouponCode) -> CodeRead:
    return CodeRead(
        code=row.code,
        display=display(row.code),
        campaign_id=row.campaign_id,
        public=row.public,
        member_id=row.member_id,
        uses=row.uses,
        held=row.held,
        amount_minor=row.amount_minor,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
    )


# ------------------------------------------------------------------ campaigns (admin)


@router.post("/coupon-campaigns", response_model=CampaignRead, status_code=201)
async def create_campaign(body: CampaignCreate, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        campaign = service.create_campaign(session, data=body, now=now)
        return Reply.of(service.to_read(session, campaign), 201)

    return await write(work)


@router.get("/coupon-campaigns", response_model=list[CampaignRead])
def list_campaigns(session: SessionDep, _: Admin) -> list[CampaignRead]:
    return [service.to_read(session, c) for c in queries.list_campaigns(session)]


@router.get("/coupon-campaigns/{campaign_id}", response_model=CampaignRead)
def get_campaign(campaign_id: CampaignIdPath, session: SessionDep, _: Admin) -> CampaignRead:
    return service.to_read(session, queries.get_campaign(session, campaign_id))


@router.patch("/coupon-campaigns/{campaign_id}", response_model=CampaignRead)
async def update_campaign(
    campaign_id: CampaignIdPath, body: CampaignUpdate, write: AdminWrite
) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        campaign = service.update_campaign(session, campaign_id=campaign_id, data=body, now=now)
        return Reply.of(service.to_read(session, campaign), 200)

    return await write(work)


@router.post(
    "/coupon-campaigns/{campaign_id}/batches",
    response_model=BatchRead,
    description="Generate codes in a resumable batch: each call writes up to 20,000 more; call "
    "again with the same key and count until `done`.",
)
async def generate(campaign_id: CampaignIdPath, body: BatchCreate, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        batch = service.generate(
            session,
            campaign_id=campaign_id,
            key=body.key,
            count=body.count,
            now=now,
            chunk=service.API_CHUNK,
        )
        read = BatchRead(
            campaign_id=campaign_id,
            key=batch.key,
            requested=batch.requested,
            generated=batch.generated,
            done=batch.generated >= batch.requested,
        )
        return Reply.of(read, 200)

    return await write(work)


@router.get("/coupon-campaigns/{campaign_id}/codes", response_model=CodePage)
def list_codes(
    campaign_id: CampaignIdPath,
    session: SessionDep,
    _: Admin,
    batch: Annotated[str | None, Query(max_length=100)] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> CodePage:
    batch_id = queries.batch_filter(session, campaign_id, batch)
    rows = queries.codes_page(session, campaign_id, batch_id=batch_id, after=after, limit=limit)
    return CodePage(
        codes=[code_read(r) for r in rows], next_after=rows[-1].id if len(rows) == limit else None
    )


@router.post("/coupon-campaigns/{campaign_id}/codes", response_model=CodeRead, status_code=201)
async def issue(campaign_id: CampaignIdPath, body: IssueRequest, write: AdminWrite) -> Response:
    def work(session: Session, now: datetime) -> Reply:
        row = service.issue_code(
            session,
            campaign_id=campaign_id,
            reference=body.reference,
            member_id=body.member_id,
            now=now,
        )
        return Reply.of(code_read(row), 201)

    return await write(work)


@router.get("/coupon-campaigns/{campaign_id}/report", response_model=CampaignReport)
def report(
    campaign_id: CampaignIdPath, request: Request, session: SessionDep, _: Admin
) -> CampaignReport:
    campaign = queries.get_campaign(session, campaign_id)
    pending = _tally(request).pending(campaign_id)
    return CampaignReport.model_validate(queries.report(session, campaign, pending))


@router.get("/members/{member_id}/coupons", response_model=list[CodeRead])
def member_coupons(
    member_id: MemberIdPath, session: SessionDep, _: ChannelOrMember
) -> list[CodeRead]:
    return [code_read(row) for row in queries.member_codes(session, member_id)]


# ------------------------------------------------------------------ the till and the web shop


def _caller(request: Request, principal: Principal) -> Caller:
    return Caller(principal.key_id, request.client.host if request.client else None)


def _tally(request: Request) -> Tally:
    tally: Tally | None = getattr(request.app.state, "coupon_tally", None)
    if tally is None:
        tally = request.app.state.coupon_tally = Tally()
    return tally


async def _submit(request: Request, write: validation.Write) -> None:
    """Run ``write`` through the writer (its own transaction with the requests it is grouped
    with); nothing is answered from it."""

    def work(session: Session, now: datetime) -> Reply:
        write(session, now)
        return Reply(204, b"")

    await request.app.state.writer.submit(Job(work=work))


def _read(request: Request, work: Callable[[Session], Any]) -> Any:
    with transaction(request.app.state.session_factory, read_only=True) as session:
        return work(session)


async def _reading(request: Request, work: Callable[[Session], Any]) -> Any:
    """Run a short read. On SQLite it runs on the event loop, on the app's held connection
    (``HeldReader``), as the writer does: a handful of indexed reads take less time than the
    hop to a worker thread, and a WAL reader never waits for a writer. On PostgreSQL it runs
    on the thread pool (a network round trip)."""
    reader: HeldReader | None = request.app.state.reader
    if reader is not None:
        with reader.read() as session:
            return work(session)
    return await run_in_threadpool(_read, request, work)


async def _admit(request: Request, principal: Principal) -> Caller:
    caller = _caller(request, principal)
    now = request.app.state.clock.now()
    await _reading(request, lambda s: guard.admit(s, caller, now))
    return caller


@router.post(
    "/coupons/validate",
    response_model=ValidationRead,
    responses={429: {"description": "Too many wrong codes from this caller (Retry-After)"}},
)
async def validate(body: CouponCheck, request: Request, principal: Channel) -> Response:
    body = policy.at_till(principal, body)
    caller = _caller(request, principal)
    now = request.app.state.clock.now()
    outcome: validation.Validation = await _reading(
        request, lambda session: validation.check(session, check=body, caller=caller, now=now)
    )
    for write in validation.writes_after(outcome, caller=caller, tally=_tally(request)):
        await _submit(request, write)
    return Response(outcome.read.model_dump_json().encode(), 200, media_type=JSON)


def _redemption_reply(session: Session, result: CouponRedemption | WrongCode) -> Reply:
    if isinstance(result, WrongCode):
        return Reply.error(result)
    return Reply.of(redemptions.to_read(session, result), 200)


REDEMPTION_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "UnknownCode, MistypedCode, ReservationNotFound"},
    409: {"description": "A refusal with its reason code (CouponUsedUp, CouponExpired, ...)"},
    429: {"description": "Too many wrong codes from this caller (Retry-After)"},
}


async def _redeeming(
    request: Request, write: Write, step: Callable[[Session, datetime], CouponRedemption]
) -> Response:
    """A till's step on a code (reserve, commit, release), behind the guard: a caller that must
    wait is refused before the writer, and a wrong code counts against it in the transaction."""
    caller = await _admit(request, write.principal)

    def work(session: Session, now: datetime) -> Reply:
        result = guard.guarded(session, caller, now, lambda: step(session, now))
        return _redemption_reply(session, result)

    return await write(work)


@router.post("/coupons/reserve", response_model=RedemptionRead, responses=REDEMPTION_ERRORS)
async def reserve(body: ReserveRequest, request: Request, write: ChannelWrite) -> Response:
    body = policy.at_till(write.principal, body)
    return await _redeeming(
        request, write, lambda session, now: redemptions.reserve(session, request=body, now=now)
    )


@router.post("/coupons/commit", response_model=RedemptionRead, responses=REDEMPTION_ERRORS)
async def commit(body: CommitRequest, request: Request, write: ChannelWrite) -> Response:
    body = policy.at_till(write.principal, body)
    store = policy.store_of(write.principal)
    return await _redeeming(
        request,
        write,
        lambda session, now: redemptions.commit(session, request=body, now=now, store=store),
    )


@router.post("/coupons/release", response_model=RedemptionRead, responses=REDEMPTION_ERRORS)
async def release(body: ReleaseRequest, request: Request, write: ChannelWrite) -> Response:
    store = policy.store_of(write.principal)  # a till releases its own store's baskets only
    return await _redeeming(
        request,
        write,
        lambda session, now: redemptions.release(session, request=body, now=now, store=store),
    )
