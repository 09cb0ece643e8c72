"""Rendering a page: one Jinja2 environment, autoescaped, strict about missing names, and
the headers every page carries (a Content-Security-Policy that allows nothing but lojal's own
stylesheet and images: the pages run no script, but for the segment builder's own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from lojal.pages import charts

HERE = Path(__file__).parent
STATIC = HERE / "static"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

environment = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals["svg_chart"] = charts.svg
environment.globals["svg_heatmap"] = charts.heatmap_svg


# A page with a script (the segment builder) may run lojal's own scripts and ask lojal itself
# (its live count); nothing from anywhere else, and no inline script.
SCRIPTED_HEADERS = {
    **HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    scripted: bool = False,
    **context: Any,
) -> HTMLResponse:
    html = environment.get_template(template).render(request=request, **context)
    headers = SCRIPTED_HEADERS if scripted else HEADERS
    return HTMLResponse(html, status_code=status, headers=headers)
