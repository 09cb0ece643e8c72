"""What a member merge does to the stored figures: nothing at once. The merged member's
``member_scores`` row stays until the next refit (a merged member is in no segment, so no one
reads it), and the member that carries on keeps their own figures until then too; the refit
scores them on the purchases they now hold together, and the merged member, who holds none
any more, is no longer scored. See ``lojal.members.merging``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

TABLES = {"member_scores": "kept"}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    return {}
