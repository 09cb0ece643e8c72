"""``create_app(settings)``: the HTTP API under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from lojal import __version__
from lojal.activities.api import router as activities_router
from lojal.clock import Clock, SystemClock
from lojal.config import Settings
from lojal.db.engine import make_engine
from lojal.db.session import make_session_factory
from lojal.ledger.api import router as ledger_router
from lojal.members.api import router as members_router
from lojal.program.api import router as program_router
from lojal.web import errors
from lojal.web.idempotency import IdempotencyMiddleware


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    engine = make_engine(settings.database_url, echo=settings.sql_echo)
    app = FastAPI(
        title="lojal",
        version=__version__,
        summary="Loyalty programme and customer club API",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.clock = clock or SystemClock()
    app.state.auth_cache = {}
    errors.install(app)
    api = APIRouter(prefix="/api/v1")
    for router in (members_router, activities_router, ledger_router, program_router):
        api.include_router(router)
    app.include_router(api)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(
        IdempotencyMiddleware,
        session_factory=app.state.session_factory,
        clock=app.state.clock,
        lock_seconds=settings.idempotency_lock_seconds,
    )
    return app
