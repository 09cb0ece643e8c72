"""What a member merge does to the alerts: nothing. An alert is about what was seen of the
member it names then; it stays theirs (see ``lojal.members.merging``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

TABLES = {"fraud_alerts": "kept"}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    return {}
