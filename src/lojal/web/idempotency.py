"""``Idempotency-Key`` for every write, as an ASGI middleware.

* same key, same request (method, path, body) → the first response again (with the header
  ``Idempotent-Replayed: true``);
* same key, a different request → 422 ``IdempotencyKeyReused``;
* same key while the first request is still running → 409 ``IdempotencyKeyInFlight``.

Keys are scoped to the API key that sent them. Responses of 5xx (and 401/403, which never
reached the handler) are not kept, so the client can retry. A request that died while holding
a key releases it after ``idempotency_lock_seconds``; natural ids (order, return, event) make
such a retry safe on their own.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import anyio
import orjson
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lojal.clock import Clock
from lojal.db.session import transaction
from lojal.web.models import IdempotencyRecord

HEADER = b"idempotency-key"
METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_KEY_LENGTH = 255


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        session_factory: sessionmaker[Session],
        clock: Clock,
        lock_seconds: int,
    ) -> None:
        self.app = app
        self.factory = session_factory
        self.clock = clock
        self.lock = timedelta(seconds=lock_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(HEADER)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            await _json(
                send,
                422,
                {
                    "error": "ValidationError",
                    "detail": "Idempotency-Key must be 1-255 characters",
                    "field": "Idempotency-Key",
                },
            )
            return
        caller = _caller(headers.get(b"authorization", b""))
        body = await _read_body(receive)
        digest = hashlib.sha256(
            b"\n".join(
                [
                    scope["method"].encode(),
                    scope["path"].encode(),
                    scope.get("query_string", b""),
                    body,
                ]
            )
        ).hexdigest()
        outcome = await anyio.to_thread.run_sync(self._claim, caller, key, scope, digest)
        if outcome[0] == "replay":
            await _send(send, outcome[1], outcome[2], replayed=True)
            return
        if outcome[0] == "mismatch":
            await _json(
                send,
                422,
                {
                    "error": "IdempotencyKeyReused",
                    "detail": "this Idempotency-Key was used with a different request",
                    "field": "Idempotency-Key",
                },
            )
            return
        if outcome[0] == "in_flight":
            await _json(
                send,
                409,
                {
                    "error": "IdempotencyKeyInFlight",
                    "detail": "a request with this Idempotency-Key is still being processed",
                },
            )
            return
        record_id: int = outcome[1]
        status = 500
        chunks: list[bytes] = []
        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            keep = status < 500 and status not in (401, 403)
            await anyio.to_thread.run_sync(self._finish, record_id, status, b"".join(chunks), keep)

    def _claim(self, caller: str, key: str, scope: Scope, digest: str) -> tuple[Any, ...]:
        now = self.clock.now()
        try:
            with transaction(self.factory) as session:
                row = session.scalar(
                    select(IdempotencyRecord)
                    .where(
                        IdempotencyRecord.caller == caller,
                        IdempotencyRecord.idempotency_key == key,
                    )
                    .with_for_update()
                )
                if row is None:
                    row = IdempotencyRecord(
                        caller=caller,
                        idempotency_key=key,
                        method=scope["method"],
                        path=scope["path"][:500],
                        request_hash=digest,
                        created_at=now,
                        locked_at=now,
                    )
                    session.add(row)
                    session.flush()
                    return ("proceed", row.id)
                if row.request_hash != digest:
                    return ("mismatch",)
                if row.status_code is not None:
                    return ("replay", row.status_code, row.response_body or b"")
                if row.locked_at is not None and now - row.locked_at > self.lock:
                    row.locked_at = now
                    return ("proceed", row.id)
                return ("in_flight",)
        except IntegrityError:
            return ("in_flight",)

    def _finish(self, record_id: int, status: int, content: bytes, keep: bool) -> None:
        with transaction(self.factory) as session:
            if keep:
                row = session.get(IdempotencyRecord, record_id)
                if row is not None:
                    row.status_code = status
                    row.response_body = content
                    row.locked_at = None
            else:
                session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))


def _caller(authorization: bytes) -> str:
    token = authorization.decode("latin-1").removeprefix("Bearer ").strip()
    parts = token.split("_", 2)
    return parts[1][:32] if len(parts) == 3 and parts[0] == "lojal" else "-"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Send, status: int, content: bytes, *, replayed: bool = False) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def _json(send: Send, status: int, payload: dict[str, Any]) -> None:
    await _send(send, status, orjson.dumps(payload))


def purge(session: Session, *, older_than: Any) -> int:
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < older_than)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
