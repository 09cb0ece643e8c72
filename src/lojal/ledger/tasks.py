"""The worker's job kind ``ledger_months``: store the IFRS 15 figures of the closed months
(``liability.store_months``) so that the dashboard reads them and only the open month live.
Queued once a day by the worker's schedule (``lojal.worker.schedule``); running it twice
stores the same rows."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from lojal.errors import Conflict
from lojal.ledger import liability
from lojal.program import service as program_service
from lojal.worker import queue
from lojal.worker.kinds import DbHandler, Done, Outcome
from lojal.worker.queue import Claimed

KIND = "ledger_months"


def store(session: Session, *, now: datetime) -> str:
    config = program_service.current(session)
    rows = liability.store_months(
        session, now=now, timezone=config.timezone, currency=config.currency
    )
    return f"{rows} monthly ledger figures stored"


def enqueue(session: Session, *, now: datetime, key: str | None = None) -> int | None:
    """Queue the figures' refresh in the caller's transaction; None when ``key`` was queued."""
    return queue.enqueue(session, KIND, {}, now=now, key=key, max_attempts=3)


def scheduled_key(day: date) -> str:
    return f"{KIND}:scheduled:{day.isoformat()}"


class LedgerMonthsHandler(DbHandler):
    """Stores the figures in the transaction that marks the job done; a club without a
    programme is not an error to retry."""

    kind = KIND
    max_attempts = 3

    def run(self, session: Session, job: Claimed, now: datetime) -> Outcome:
        try:
            return Done(store(session, now=now))
        except Conflict as exc:
            return Done(f"not stored: {exc.detail}")
