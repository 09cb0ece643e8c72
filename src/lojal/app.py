"""``create_app(settings)``: the HTTP API under ``/api/v1``."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from lojal import __version__
from lojal.access.api import router as access_router
from lojal.activities.api import router as activities_router
from lojal.audiences.api import router as audiences_router
from lojal.audit.api import router as audit_router
from lojal.badges.api import router as badges_router
from lojal.challenges.api import router as challenges_router
from lojal.clock import Clock, SystemClock
from lojal.config import Settings
from lojal.coupons.api import router as coupons_router
from lojal.db.engine import Checkpointer, make_engine
from lojal.db.session import HeldReader, make_session_factory
from lojal.fraud.api import router as fraud_router
from lojal.insight.api import router as insight_router
from lojal.journeys.api import router as journeys_router
from lojal.ledger.api import router as ledger_router
from lojal.members.api import router as members_router
from lojal.memberships.api import router as memberships_router
from lojal.messaging.api import public as unsubscribe_router
from lojal.messaging.api import router as messaging_router
from lojal.pages import site as pages
from lojal.privacy.api import router as privacy_router
from lojal.program.api import router as program_router
from lojal.referrals.api import router as referrals_router
from lojal.rewards.api import router as rewards_router
from lojal.segments.api import router as segments_router
from lojal.staff.api import router as keys_router
from lojal.summary.api import router as summary_router
from lojal.tiers.api import router as tiers_router
from lojal.web import contract, docs, errors
from lojal.web.deps import Credentials
from lojal.web.limits import RequestLimits
from lojal.web.storable import RefuseUnstorableText
from lojal.web.writer import Writer
from lojal.webhooks.api import router as webhooks_router

log = logging.getLogger("lojal.app")


def create_app(
    settings: Settings, *, clock: Clock | None = None, freeze_gc: bool = False
) -> FastAPI:
    """The app. ``freeze_gc`` (for a server process, as ``lojal serve``): once started, move
    everything alive (modules, the app, its routes, models and pools, the server's own objects)
    out of the garbage collector's reach, so that a full collection walks only what requests
    allocate: ~10 ms instead of ~80-100 ms here, paid by whichever requests are waiting."""
    engine = make_engine(
        settings.database_url, echo=settings.sql_echo, sqlite_cache_mib=settings.sqlite_cache_mib
    )
    clock = clock or SystemClock()
    sqlite = engine.dialect.name == "sqlite"
    # SQLite: the writer runs on the event loop and must never wait there for another
    # process's write lock; it backs off instead (lojal.web.writer).
    writer_engine = (
        make_engine(
            settings.database_url,
            echo=settings.sql_echo,
            busy_timeout_ms=0,
            auto_checkpoint=False,
            sqlite_cache_mib=settings.sqlite_cache_mib,
        )
        if sqlite
        else engine
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        checkpointer = Checkpointer(settings.database_url).start() if sqlite else None
        if freeze_gc:
            await _warm(app)
            gc.collect()
            gc.freeze()
        yield
        app.state.writer.close()
        if app.state.reader is not None:
            app.state.reader.close()
        if checkpointer is not None:
            checkpointer.stop()
        writer_engine.dispose()
        engine.dispose()

    app = FastAPI(
        title="lojal",
        version=__version__,
        summary="Loyalty programme and customer club API",
        openapi_url="/openapi.json",
        docs_url=None,  # lojal.web.docs: the pages' assets come from lojal, not a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    # SQLite: short reads on the event loop (coupon validation), on one held connection
    app.state.reader = HeldReader(engine) if sqlite else None
    app.state.clock = clock
    app.state.auth_cache = Credentials()
    app.state.writer = Writer(
        make_session_factory(writer_engine), clock, inline=sqlite, threads=settings.writer_threads
    )
    errors.install(app)
    # texts no database can store (NUL, lone surrogates) are refused before any route runs
    app.add_middleware(RefuseUnstorableText)
    # outermost: a body too large or a caller over its quota is refused before anything reads
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        per_key=settings.rate_limit_per_key,
        per_address=settings.rate_limit_per_address,
        window_seconds=settings.rate_limit_window_seconds,
    )
    # The routes go straight into the app's route list: FastAPI matches an included router's
    # routes through a wrapper per inclusion, which costs ~25% of a small request here.
    # Starlette tries the routes in order, each with its regular expression, so the calls a
    # till or a web shop makes all day (purchases, returns, coupon validation and redemption)
    # come first: validating a coupon at position 61 of 74 spent ~10% of its time matching.
    for router in (
        activities_router,
        coupons_router,
        members_router,
        summary_router,
        ledger_router,
        program_router,
        referrals_router,
        tiers_router,
        memberships_router,
        challenges_router,
        badges_router,
        rewards_router,
        privacy_router,
        audit_router,
        fraud_router,
        webhooks_router,
        messaging_router,
        unsubscribe_router,
        segments_router,
        audiences_router,
        insight_router,
        journeys_router,
        keys_router,
        access_router,
    ):
        app.router.routes.extend(router.routes)
    docs.install(app)
    pages.install(app)  # the staff's pages and the member portal (not in the OpenAPI)
    contract.install(app)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def _warm(app: FastAPI) -> None:
    """Pay before the first request what it would pay otherwise (~90 ms here, while the
    requests behind it wait): anyio's thread backend, imported at its first use, and a worker
    thread; on SQLite the held reader's connection. What this creates is then frozen with the
    rest (``freeze_gc``)."""
    await run_in_threadpool(lambda: None)
    reader: HeldReader | None = app.state.reader
    if reader is not None:
        try:
            with reader.read() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError:  # a database that cannot open answers the requests with why
            log.warning("could not open the database at start-up", exc_info=True)


def served_app() -> FastAPI:
    """The app of one process of ``lojal serve --workers N`` (uvicorn's factory): the
    settings come from the environment (``LOJAL_*``)."""
    return create_app(Settings(), freeze_gc=True)
