"""``install(app)``: the pages' routes, their static files and how their errors are shown
(an HTML page, or the sign-in page for whoever is not signed in; the API keeps its JSON)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from lojal.errors import Forbidden, LojalError, NotFound, Unauthorized
from lojal.pages import admin, portal, segment_builder
from lojal.pages.errors import NotSignedIn
from lojal.pages.templating import STATIC, render
from lojal.web.errors import status_of

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]
PAGES = ("/staff", "/portal")


def install(app: FastAPI) -> None:
    app.include_router(admin.router)
    app.include_router(segment_builder.router)
    app.include_router(portal.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    api_handler = app.exception_handlers.get(LojalError)

    async def handler(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith(PAGES) and api_handler is not None:
            answer = api_handler(request, exc)
            return await answer if isinstance(answer, Awaitable) else answer
        return page_error(request, exc)

    app.add_exception_handler(LojalError, handler)


def page_error(request: Request, exc: Exception) -> Response:
    portal_page = request.url.path.startswith("/portal")
    if isinstance(exc, NotSignedIn):
        return RedirectResponse("/portal/sign-in" if portal_page else "/staff/sign-in", 303)
    assert isinstance(exc, LojalError)
    status = status_of(exc)
    title = (
        "Not allowed"
        if isinstance(exc, Forbidden)
        else "Not found"
        if isinstance(exc, NotFound)
        else "Sign in again"
        if isinstance(exc, Unauthorized)
        else "Cannot do that"
    )
    return render(
        request,
        "error.html",
        status=status,
        staff=None,
        title=title,
        message=exc.detail,
        allows=None,
    )
