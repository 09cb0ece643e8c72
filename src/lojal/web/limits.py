"""Limits every request meets before any route runs: the body's size and the request rate.

* **Body size.** A body over ``Settings.max_body_bytes`` is answered ``413`` (``PayloadTooLarge``)
  without being read: at once when ``Content-Length`` says so, and as soon as a body sent without
  one (chunked) grows past the limit.
* **Rate.** Requests are counted per API key (the ``Authorization`` header as sent, so that a
  stream of wrong keys is counted too) and per client address, in fixed windows of
  ``rate_limit_window_seconds``, under ``/api/`` and under ``/track/`` (the public open and
  click links of email, which need no key: counted per address). Past a quota the answer is
  ``429`` (``TooManyRequests``) with ``Retry-After`` and nothing runs. Every such answer carries
  the fields of the IETF
  draft *RateLimit header fields for HTTP*, pinned at **draft-ietf-httpapi-ratelimit-headers-09**::

      RateLimit-Policy: "key";q=60000;w=60, "address";q=60000;w=60
      RateLimit: "key";r=59812;t=37

  (``RateLimit`` names the policy closest to its quota.) The counts are kept per server process:
  with ``lojal serve --workers N`` a caller may make up to N times the quota; divide the quota by
  N to hold the total. A quota of 0 switches its limit off.

The client address is the connection's, or — only when the connection comes from one of
``Settings.trusted_proxies`` — the one the proxy forwards (``lojal serve`` tells uvicorn which
proxies to trust; by default none, so ``X-Forwarded-For`` from anyone else changes nothing).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# the API, and the public tracking links of email (lojal.messaging.tracking), which anyone
# with a message can call without a key
LIMITED = ("/api/", "/track/")


@dataclass(frozen=True, slots=True)
class Policy:
    """One quota: ``quota`` requests per ``window`` seconds, per caller of ``name``'s kind."""

    name: str
    quota: int
    window: int


class _Counter:
    """Counts per caller in the current fixed window; forgets everything when it rolls."""

    __slots__ = ("counts", "policy", "started")

    def __init__(self, policy: Policy, now: float) -> None:
        self.policy = policy
        self.started = now
        self.counts: dict[str, int] = {}

    def take(self, caller: str, now: float) -> tuple[int, int]:
        """Count a request; return (requests left in the window, seconds until it resets)."""
        window = self.policy.window
        if now - self.started >= window:
            self.started += window * math.floor((now - self.started) / window)
            self.counts = {}
        used = self.counts.get(caller, 0) + 1
        self.counts[caller] = used
        reset = max(1, math.ceil(self.started + window - now))
        return self.policy.quota - used, reset


class RequestLimits:
    """The ASGI middleware (see the module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        per_key: int,
        per_address: int,
        window_seconds: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.clock = clock
        now = clock()
        self.counters: list[tuple[_Counter, Callable[[Scope], str | None]]] = []
        if per_key > 0:
            self.counters.append((_Counter(Policy("key", per_key, window_seconds), now), _key))
        if per_address > 0:
            self.counters.append(
                (_Counter(Policy("address", per_address, window_seconds), now), _address)
            )
        self.policy_header = ", ".join(
            f'"{c.policy.name}";q={c.policy.quota};w={c.policy.window}' for c, _ in self.counters
        ).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limited = scope["path"].startswith(LIMITED) and bool(self.counters)
        header = b""
        if limited:
            now = self.clock()
            closest: tuple[int, int, Policy] | None = None
            for counter, caller_of in self.counters:
                caller = caller_of(scope)
                if caller is None:
                    continue
                left, reset = counter.take(caller, now)
                if left < 0:
                    await _refuse_rate(send, counter.policy, reset, self.policy_header)
                    return
                if closest is None or left < closest[0]:
                    closest = (left, reset, counter.policy)
            if closest is not None:
                left, reset, policy = closest
                header = f'"{policy.name}";r={left};t={reset}'.encode()
        length = _content_length(scope)
        if length is not None and length > self.max_body_bytes:
            await _refuse_size(send, length, self.max_body_bytes)
            return
        if length is None and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            receive = _bounded(receive, self.max_body_bytes)
        if limited:
            send = _with_headers(send, self.policy_header, header)
        try:
            await self.app(scope, receive, send)
        except _TooLarge as exc:
            await _refuse_size(send, exc.size, self.max_body_bytes)


def _key(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value).decode("latin-1")
    return None


def _address(scope: Scope) -> str | None:
    client = scope.get("client")
    return None if client is None else str(client[0])


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _bounded(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def bounded() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge(seen)
        return message

    return bounded


def _with_headers(send: Send, policy: bytes, current: bytes) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            headers.append((b"ratelimit-policy", policy))
            if current:
                headers.append((b"ratelimit", current))
            message = {**message, "headers": headers}
        await send(message)

    return sending


async def _answer(
    send: Send, status: int, payload: dict[str, str], extra: list[tuple[bytes, bytes]]
) -> None:
    content = orjson.dumps(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


async def _refuse_rate(send: Send, policy: Policy, reset: int, policy_header: bytes) -> None:
    who = "API key" if policy.name == "key" else "address"
    await _answer(
        send,
        429,
        {
            "error": "TooManyRequests",
            "detail": f"too many requests from this {who}: at most {policy.quota} in "
            f"{policy.window} seconds; retry after {reset} seconds",
        },
        [
            (b"retry-after", str(reset).encode()),
            (b"ratelimit-policy", policy_header),
            (b"ratelimit", f'"{policy.name}";r=0;t={reset}'.encode()),
        ],
    )


async def _refuse_size(send: Send, size: int, limit: int) -> None:
    await _answer(
        send,
        413,
        {
            "error": "PayloadTooLarge",
            "detail": f"the request body is over {limit} bytes ({size} sent); send less, "
            "or split it into several requests",
        },
        [],
    )
