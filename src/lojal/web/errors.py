"""The one module that speaks HTTP about errors: ``{"error": "<Code>", "detail": "..."}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from lojal.db.failures import describe, log_failure
from lojal.errors import (
    Conflict,
    Forbidden,
    Invalid,
    LojalError,
    NotFound,
    TooManyRequests,
    Unauthorized,
)

log = logging.getLogger("lojal.web")

STATUS = (
    (NotFound, 404),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Invalid, 422),
    (Conflict, 409),
    (TooManyRequests, 429),
)


# A domain error of none of the kinds above.
OTHER_STATUS = 400


def status_of(error: LojalError) -> int:
    for cls, status in STATUS:
        if isinstance(error, cls):
            return status
    return OTHER_STATUS


class ErrorItem(BaseModel):
    """One field of a request that is not valid, and what is wrong with it."""

    model_config = ConfigDict(title="ErrorItem")

    field: str = Field(description="Where: `email`, `lines[0].sku`, `Idempotency-Key`, `body`")
    message: str


# The OpenAPI component ``Error`` (lojal.web.contract): the shape of what ``body`` builds, of the
# writer's answers and of the middlewares' refusals (lojal.web.limits, lojal.web.storable).
class ErrorBody(BaseModel):
    """Every error, whatever its status: a stable code, what is wrong, and the fields."""

    model_config = ConfigDict(title="Error")

    error: str = Field(description="A stable code: the error's name, e.g. `MemberNotFound`")
    detail: str = Field(description="What is wrong, in words a person can act on")
    field: str | SkipJsonSchema[None] = Field(
        default=None, description="The field that breaks a rule, when one does"
    )
    errors: list[ErrorItem] | SkipJsonSchema[None] = Field(
        default=None, description="Each field that is not valid (`ValidationError`)"
    )


def body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def error_payload(exc: LojalError) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a domain error (handlers and the writer share it)."""
    extra: dict[str, Any] = {}
    field = exc.field if isinstance(exc, Invalid) else exc.context.get("field")
    if field:
        extra["field"] = field
    return status_of(exc), body(exc.code, exc.detail, **extra)


def _allowed(request: Request) -> list[str]:
    """The methods the request's path takes: Starlette's 405 names those of the one route it
    tried, and each method of a path is a route of its own here."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        route_methods = getattr(route, "methods", None)
        if match is not Match.NONE and route_methods:
            methods |= set(route_methods)
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(LojalError)
    async def _domain(_: Request, exc: LojalError) -> JSONResponse:
        status, payload = error_payload(exc)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(max(1, int(exc.context.get("retry_after", 1))))}
        return JSONResponse(payload, status, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _loc(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return JSONResponse(body("ValidationError", detail, errors=errors), 422)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error: %s", describe(exc))
        return JSONResponse(
            body("Conflict", "the request conflicts with data written at the same time; retry it"),
            409,
        )

    @app.exception_handler(OperationalError)
    async def _operational(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database busy: %s", describe(exc))
        return JSONResponse(
            body("Unavailable", "the database is busy; retry shortly"), 503, {"Retry-After": "1"}
        )

    # Any other database error is answered here rather than by the catch-all below, which
    # Starlette re-raises for the server to log with the driver's message (a member's data).
    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        log_failure(log, "database error", exc)
        return JSONResponse(body("InternalError", "an unexpected error occurred"), 500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NotFound", 405: "MethodNotAllowed", 401: "Unauthorized"}.get(
            exc.status_code, "HTTPError"
        )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed(request))
        return JSONResponse(body(code, str(exc.detail)), exc.status_code, headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log_failure(log, "unexpected error", exc)
        return JSONResponse(body("InternalError", "an unexpected error occurred"), 500)
