"""Reads for counting challenge progress, on the driver's cursor (``lojal.db.driver``) like
the purchase path: the running challenges, the members of a batch as challenges see them, and
the members' locks; ``Times`` converts a batch's times to and from the database's form."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lojal.challenges.matching import Compiled, MemberView
from lojal.challenges.service import compiled
from lojal.db.driver import Driver
from lojal.ledger import writer as ledger_writer
from lojal.program import service as program_service


def marks(n: int) -> str:
    return ", ".join("?" * n)


def running(session: Session, activity: str) -> list[Compiled]:
    """The active challenges over ``activity``, compiled (cached per revision). One small
    indexed query; nothing else when there are none."""
    db = Driver.of(session)
    rows = db.all(
        "SELECT id, revision, definition, runs_from, runs_until FROM challenges "
        "WHERE status = 'active' AND activity = ? ORDER BY id",
        (activity,),
    )
    if not rows:
        return []
    timezone = program_service.current(session).timezone
    return [
        compiled(
            int(row_id),
            int(revision),
            db.read_json(definition),
            (read_time(db, runs_from), read_time(db, runs_until)),
            timezone,
        )
        for row_id, revision, definition, runs_from, runs_until in rows
    ]


def read_time(db: Driver, value: Any) -> datetime | None:
    return None if value is None else db.read_time(value)


class Times:
    """Times to and from the database's form, each distinct value converted once per batch
    (a batch's rows share window bounds, and conversions would otherwise be a large part of
    the work)."""

    def __init__(self, db: Driver) -> None:
        self.db = db
        self.stored: dict[datetime, Any] = {}
        self.read: dict[Any, datetime] = {}

    def to_db(self, value: datetime | None) -> Any:
        if value is None:
            return None
        found = self.stored.get(value)
        if found is None:
            found = self.stored[value] = self.db.time(value)
        return found

    def from_db(self, value: Any) -> datetime | None:
        if value is None:
            return None
        found = self.read.get(value)
        if found is None:
            found = self.read[value] = self.db.read_time(value)
        return found


def member_views(db: Driver, ids: Iterable[int]) -> dict[int, MemberView]:
    out: dict[int, MemberView] = {}
    for row in db.in_chunks(
        "SELECT id, status, tier, enrolment_channel, attributes FROM members WHERE id IN ({})",
        sorted(set(ids)),
    ):
        attributes = db.read_json(row[4]) if row[4] not in (None, "{}") else {}
        out[int(row[0])] = MemberView(int(row[0]), row[1], row[2], row[3], attributes or {})
    return out


def lock_members(db: Driver, member_ids: Sequence[int]) -> None:
    """PostgreSQL: the members' balance rows, in member order (as the purchase path and the
    ledger lock them), for the rest of the transaction. SQLite's write transaction already
    excludes every other writer."""
    ledger_writer.lock_balances(db, member_ids)
