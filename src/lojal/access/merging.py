"""What a member merge does to the member app's tables (``lojal.members.merging``): the merged
member's sessions and codes stay with them and open nothing (only an active member signs in);
the access revision moves, so that no server process keeps trusting a session it checked
before."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lojal.staff import service as keys

TABLES = {"member_sessions": "kept", "member_sign_in_codes": "kept"}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    keys.bump_revision(session, now=now)
    return {}
