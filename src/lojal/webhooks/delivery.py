"""Delivering webhook messages (the worker's ``webhook`` jobs).

Each try POSTs the body stored when the event happened, with ``webhook-id`` (the same on
every try), ``webhook-timestamp`` (the try's time) and ``webhook-signature`` (one ``v1,`` per
secret). A 2xx is delivered. A 410 Gone turns the endpoint off and the message is dead with
that reason; so are later messages for an endpoint that is off. Anything else — another
status, a timeout, a refused connection — is tried again on the Standard Webhooks schedule
(``lojal.worker.backoff``), or after the receiver's ``Retry-After`` when it sends one.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.db.session import transaction
from lojal.webhooks import service, signing
from lojal.webhooks.events import KIND
from lojal.webhooks.models import WebhookEndpoint
from lojal.worker import backoff
from lojal.worker.http import HttpClient, retry_after
from lojal.worker.kinds import Context, Done, Fail, IoHandler, Outcome, Retry, side_by_side
from lojal.worker.queue import Claimed

GONE = "410 Gone: the receiver asked for no more messages; the endpoint is turned off"


class WebhookHandler(IoHandler):
    kind = KIND
    max_attempts = 1 + len(backoff.STANDARD_WEBHOOKS)

    def __init__(self, ctx: Context, *, concurrency: int = 16, timeout: float = 15.0) -> None:
        self.ctx = ctx
        self.http = HttpClient(timeout=timeout)
        self.width = concurrency
        self.pool = ThreadPoolExecutor(concurrency, "lojal-webhooks")

    def backoff(self, attempts: int) -> timedelta:
        return backoff.standard_webhooks(attempts)

    def handle(self, jobs: Sequence[Claimed], now: datetime) -> list[Outcome]:
        ids = {job.payload["endpoint"] for job in jobs}
        with transaction(self.ctx.factory, read_only=True) as session:
            endpoints = {
                e.id: (e.url, list(e.secrets), e.active)
                for e in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id.in_(ids)))
            }
        timestamp = int(self.ctx.clock.now().timestamp())

        def one(job: Claimed) -> Outcome:
            found = endpoints.get(job.payload["endpoint"])
            if found is None or not found[2]:
                return Fail(f"webhook endpoint {job.payload['endpoint']} is turned off or gone")
            url, secrets, _ = found
            body = job.payload["body"].encode()
            headers = signing.headers(secrets, job.payload["msg"], timestamp, body)
            try:
                answer = self.http.post(url, body, headers)
            except Exception as exc:
                return Retry(f"no answer from {url}: {type(exc).__name__}: {exc}")
            if 200 <= answer.status < 300:
                return Done()
            if answer.status == 410:
                return Fail(GONE)
            return Retry(f"{url} answered {answer.status}", retry_after(answer.headers))

        return side_by_side(self.pool, self.width, one, jobs)

    def record(
        self, session: Session, results: Sequence[tuple[Claimed, Outcome]], now: datetime
    ) -> None:
        for job, outcome in results:
            if isinstance(outcome, Fail) and outcome.reason == GONE:
                service.disable(
                    session, endpoint_id=job.payload["endpoint"], reason="410 Gone", now=now
                )

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.http.close()
