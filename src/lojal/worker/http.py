"""Outbound HTTP for the worker's senders (webhooks, SMS and push providers): ``http.client``
with kept-alive connections, one set per thread (a sender's threads post side by side), and a
stale kept-alive connection tried again once on a fresh one. No dependency, no event loop."""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

USER_AGENT = "lojal-worker"


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


class HttpClient:
    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.local = threading.local()
        self.lock = threading.Lock()
        self.every: list[http.client.HTTPConnection] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> HttpAnswer:
        """POST ``body``; the answer, or ``OSError``/``http.client.HTTPException`` when no
        answer came."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        where = (parts.scheme, parts.hostname or "", port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers}
        pool: dict[tuple[str, str, int], http.client.HTTPConnection] = (
            self.local.__dict__.setdefault("pool", {})
        )
        for fresh in (False, True):
            conn = pool.get(where)
            reused = conn is not None
            if conn is None:
                conn = self._connect(*where)
                pool[where] = conn
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                pool.pop(where, None)
                if fresh or not reused:
                    raise
                continue
            if response.will_close:
                conn.close()
                pool.pop(where, None)
            return HttpAnswer(
                response.status, {k.lower(): v for k, v in response.getheaders()}, data
            )
        raise AssertionError("unreachable")

    def _connect(self, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        with self.lock:
            self.every.append(conn)
        return conn

    def close(self) -> None:
        with self.lock:
            for conn in self.every:
                conn.close()
            self.every.clear()


def retry_after(headers: dict[str, str], now: datetime | None = None) -> timedelta | None:
    """A ``Retry-After`` header (seconds, or an HTTP date) as a wait; None without one."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(at - (now or datetime.now(UTC)), timedelta(0))
