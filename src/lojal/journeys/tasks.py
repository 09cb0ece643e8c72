"""The worker's side of journeys: the ``journey`` kind (a run's steps, exactly once) and the
daily date sweep (an entry of the worker's schedule)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lojal.db.session import transaction
from lojal.journeys import steps, sweep
from lojal.journeys.entry import KIND
from lojal.journeys.models import Journey, JourneyRun
from lojal.worker.kinds import DbHandler, Done, Outcome
from lojal.worker.queue import Claimed


class JourneyHandler(DbHandler):
    """Moves a run along its steps, in the transaction that settles the job (a savepoint of
    its own): the steps and the job's ``done`` commit together. A job of an older wake (the
    run moved on) does nothing."""

    kind = KIND
    max_attempts = 5

    def run(self, session: Session, job: Claimed, now: datetime) -> Outcome:
        query = select(JourneyRun).where(JourneyRun.id == job.payload["run"])
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        run = session.scalar(query)
        if run is None:
            return Done("the run is gone")
        if run.state not in ("entered", "waiting") or run.wakes != job.payload.get("wake", 0):
            return Done(f"nothing to do: the run is {run.state} at wake {run.wakes}")
        note = steps.advance(session, run, now=now)
        session.flush()
        return Done(note)


@dataclass
class Sweeps:
    journeys: int = 0
    entered: int = 0
    done: list[sweep.Swept] = field(default_factory=list)


def sweep_dates(factory: sessionmaker[Session], *, now: datetime, force: bool = False) -> Sweeps:
    """Sweep every enabled journey with a date trigger not swept today (local), one
    transaction each."""
    with transaction(factory, read_only=True) as session:
        ids = sweep.due(session)
    out = Sweeps()
    for journey_id in ids:
        with transaction(factory) as session:
            journey = session.get(Journey, journey_id)
            if journey is None or not journey.enabled:
                continue
            swept = sweep.sweep_journey(session, journey, now=now, force=force)
        if swept is not None:
            out.journeys += 1
            out.entered += swept.entered
            out.done.append(swept)
    return out
