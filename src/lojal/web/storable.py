"""Refuse, before any route runs, a request holding a text no database can store.

PostgreSQL cannot store a NUL character in ``text`` or ``jsonb`` (SQLite stores it, and every
other tool then truncates the value), and a lone surrogate is not UTF-8 at all. Rather than a
check in every schema — and a 500 from the one that forgot — this ASGI middleware looks at
what every request brings: the JSON body (every string, keys included), the query string and
the path. A request holding such a text is answered with the API's usual validation error
(422, ``{"error": "ValidationError", "errors": [{"field": ..., "message": ...}]}``) naming the
field, and nothing runs.

It costs a scan of the raw bytes: a NUL or a lone surrogate can only reach a JSON string as
an escape (``\\u0000``, ``\\udXXX``), a query or path as ``%00``. Only a request whose bytes
hold one is parsed and walked (``lojal.inputs.locate_unstorable``), so that an escaped
backslash or a valid surrogate pair (an emoji) goes through.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import orjson
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lojal.inputs import locate_unstorable, text_refusal

_BODY_MARKS = (b"\\u0000", b"\\ud", b"\\uD")
_WITH_BODY = frozenset(("POST", "PUT", "PATCH", "DELETE"))


class RefuseUnstorableText:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _in_path(scope) or _in_query(scope["query_string"])
        if problem is None and scope["method"] in _WITH_BODY:
            messages, body = await _read(receive)
            receive = _replay(messages, receive)
            if any(mark in body for mark in _BODY_MARKS):
                problem = _in_body(body)
        if problem is None:
            await self.app(scope, receive, send)
            return
        field, reason = problem
        payload = {
            "error": "ValidationError",
            "detail": f"{field}: {reason}",
            "errors": [{"field": field, "message": reason}],
        }
        content = orjson.dumps(payload)
        await send(
            {
                "type": "http.response.start",
                "status": 422,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})


def _in_path(scope: Scope) -> tuple[str, str] | None:
    path: str = scope["path"]
    reason = text_refusal(path)
    if reason is None:
        return None
    # name the path parameter, when a route takes the path
    app = scope.get("app")
    for route in getattr(getattr(app, "router", None), "routes", ()):
        match, child = route.matches(scope)
        if match is not Match.NONE:
            for name, value in child.get("path_params", {}).items():
                if isinstance(value, str) and (why := text_refusal(value)) is not None:
                    return name, why
    return "path", reason


def _in_query(query: bytes) -> tuple[str, str] | None:
    if b"%00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if (reason := text_refusal(name)) is not None:
            return f"the query parameter {name!r}", reason
        if (reason := text_refusal(value)) is not None:
            return name, reason
    return None


def _in_body(body: bytes) -> tuple[str, str] | None:
    try:
        data = json.loads(body)  # the standard library's: it keeps lone surrogates
    except ValueError:
        return None  # not JSON: the route's own parsing answers
    found = locate_unstorable(data)
    if found is None:
        return None
    if found.key:
        return found.path, f"the key {found.reason}"
    return found.path or "body", found.reason


async def _read(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
