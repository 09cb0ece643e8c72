"""What the capped rules have given each member (``rule_awards``): the one writer of that table.

A capped rule may give a member at most its cap's points per period (day, week, month, year,
lifetime — periods start at local midnights in the club's time zone). Each award of a capped
rule is a row, written in the transaction of the entry it belongs to, so that the next award
knows what room is left:

* ``CapUsage``: a batch's usage — read once for the batch's members, counted in memory as the
  batch awards, and checked again (``used``) when a batch prepared earlier is written;
* ``write_batch``: the batch's rows, on the driver, once its entries have ids;
* ``record_usage``: one award's rows through the ORM (an event's points).

A member merge moves the merged member's rows to the target (``rules.merging``).

The one-member read through the ORM is ``rules.queries.used_points``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from lojal.db.driver import Driver
from lojal.rules.engine import cap_window
from lojal.rules.facts import Award, RuleSet
from lojal.rules.models import RuleAward

COLUMNS = ("member_id", "rule_id", "entry_id", "points", "awarded_at")


class CapUsage:
    """Points each capped rule has given each member, per cap window (windows start at local
    midnights, so they are found by the local date)."""

    def __init__(
        self,
        db: Driver,
        ruleset: RuleSet,
        zone: ZoneInfo,
        member_ids: Sequence[int],
        times: Sequence[datetime],
    ) -> None:
        self.timezone = ruleset.timezone
        self.zone = zone
        self.rules = [(rule.id, rule.cap.period) for rule in ruleset.capped if rule.cap]
        self.period = dict(self.rules)
        self.windows: dict[tuple[str, date], datetime | None] = {}
        self.used: dict[tuple[int, str, datetime | None], int] = defaultdict(int)
        if not self.rules or not member_ids or not times:
            return
        starts = [self._start(period, min(times)) for _, period in self.rules]
        earliest = None if any(s is None for s in starts) else min(s for s in starts if s)
        query = (
            "SELECT member_id, rule_id, awarded_at, points FROM rule_awards "
            f"WHERE rule_id IN ({', '.join('?' * len(self.period))})"
        )
        params: list[Any] = list(self.period)
        if earliest is not None:
            query += " AND awarded_at >= ?"
            params.append(db.time(earliest))
        for member_id, rule_id, at, points in db.in_chunks(
            query + " AND member_id IN ({})", list(member_ids), params
        ):
            self.add(member_id, rule_id, db.read_time(at), int(points))

    def _start(self, period: str, at: datetime) -> datetime | None:
        day = at.astimezone(self.zone).date()
        key = (period, day)
        if key not in self.windows:
            window = cap_window(period, at, self.timezone)
            self.windows[key] = window[0] if window else None
        return self.windows[key]

    def add(self, member_id: int, rule_id: str, at: datetime, points: int) -> None:
        self.used[(member_id, rule_id, self._start(self.period[rule_id], at))] += points

    def for_purchase(self, member_id: int, at: datetime) -> dict[str, int]:
        return {
            rule_id: self.used.get((member_id, rule_id, self._start(period, at)), 0)
            for rule_id, period in self.rules
        }


def write_batch(db: Driver, rows: Sequence[tuple[Any, ...]], entry_ids: Sequence[int]) -> None:
    """Insert a batch's usage rows (``COLUMNS``; ``entry_id`` relative to the batch, made real
    through ``entry_ids``)."""
    db.insert("rule_awards", COLUMNS, [(r[0], r[1], entry_ids[r[2]], *r[3:]) for r in rows])


def record_usage(
    session: Session,
    *,
    ruleset: RuleSet,
    award: Award,
    member_id: int,
    entry_id: int,
    at: datetime,
) -> None:
    capped = {rule.id for rule in ruleset.capped}
    for rule_id, points in award.by_rule.items():
        if rule_id in capped:
            session.add(
                RuleAward(
                    member_id=member_id,
                    rule_id=rule_id,
                    entry_id=entry_id,
                    points=points,
                    awarded_at=at,
                )
            )
