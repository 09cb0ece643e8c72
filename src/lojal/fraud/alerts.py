"""Raising alerts: one row per key (``FraudAlert.key``), so a check that runs twice, or two
transactions that see the same pattern, raise it once (``ON CONFLICT DO NOTHING``, on SQLite
and PostgreSQL alike)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lojal.fraud.models import FraudAlert


@dataclass(frozen=True, slots=True)
class NewAlert:
    key: str
    kind: str
    member_id: int | None
    details: dict[str, Any] = field(default_factory=dict)


def raise_alerts(session: Session, alerts: Sequence[NewAlert], *, now: datetime) -> None:
    if not alerts:
        return
    rows = [
        {
            "key": a.key,
            "kind": a.kind,
            "member_id": a.member_id,
            "details": a.details,
            "created_at": now,
        }
        for a in alerts
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(FraudAlert).on_conflict_do_nothing(index_elements=["key"]), rows)
