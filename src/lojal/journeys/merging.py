"""What a member merge does to journeys: the merged member's runs and the messages they sent
are history and stay with that member (a run of a member no longer active exits at its next
step). The member that carries on keeps its own runs, so a journey taken once per member is
not taken again because of the merge. See ``lojal.members.merging``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

TABLES = {"journey_runs": "kept", "journey_messages": "kept"}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    return {}
