"""The refit as work: ``refit`` (the stored figures replaced, and the segments that read them
brought up to date, in one transaction) and the worker's job kind ``insight_refit`` that runs
it — queued by ``POST /insight/refit`` and once a day by the worker's schedule
(``lojal.worker.schedule``). Running it twice for the same day gives the same figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pydantic import ValidationError
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.errors import Conflict, Invalid
from lojal.insight import service
from lojal.insight.models import InsightFit
from lojal.insight.schemas import RefitRequest
from lojal.segments import tasks as segments
from lojal.worker import queue
from lojal.worker.kinds import DbHandler, Done, Fail, Outcome
from lojal.worker.queue import Claimed

KIND = "insight_refit"


@dataclass(frozen=True, slots=True)
class Refitted:
    fit: InsightFit
    segments: int
    entered: int
    left: int

    def line(self) -> str:
        f = self.fit
        return (
            f"{f.members} members scored as of {f.as_of} ({f.model}, {f.months} months, "
            f"{f.monthly_discount:.2%} a month); {self.segments} segments re-evaluated: "
            f"{self.entered} entered, {self.left} left"
        )


def refit(session: Session, *, now: datetime, request: RefitRequest | None = None) -> Refitted:
    """Replace the stored figures and re-evaluate the segments that read them; their entries
    and exits reach the other features as events."""
    fit = service.refit(session, now=now, request=request)
    swept = segments.refresh_reading(session, "insight", now=now)
    for each in swept:
        reactions.after_events(session, each.caused, now)
    return Refitted(
        fit,
        segments=len(swept),
        entered=sum(s.entered for s in swept),
        left=sum(s.left for s in swept),
    )


def enqueue(
    session: Session, *, now: datetime, request: RefitRequest | None = None, key: str | None = None
) -> int | None:
    """Queue a refit in the caller's transaction; None when ``key`` was queued before."""
    payload = (request or RefitRequest()).model_dump(mode="json", exclude_none=True)
    return queue.enqueue(session, KIND, payload, now=now, key=key, max_attempts=3)


def scheduled_key(day: date) -> str:
    return f"{KIND}:scheduled:{day.isoformat()}"


class RefitHandler(DbHandler):
    """Runs a queued refit in the transaction that marks it done. A club without enough
    history (or without a programme) is not an error to retry: the job is done, and says why."""

    kind = KIND
    max_attempts = 3

    def run(self, session: Session, job: Claimed, now: datetime) -> Outcome:
        try:
            request = RefitRequest.model_validate(job.payload)
        except ValidationError as exc:
            return Fail(f"not a refit request: {exc.errors()[0]['msg']}")
        try:
            done = refit(session, now=now, request=request)
        except (Conflict, Invalid) as exc:
            return Done(f"not refitted: {exc.detail}")
        return Done(done.line())
