"""What a member merge does to the portal's tables (see ``lojal.members.merging``): nothing.
The merged member's links and sessions stay with them and open nothing any more, since the
portal only signs in active members; the member who carries on signs in with the identities
they now hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

TABLES = {"member_portal_links": "kept", "member_portal_sessions": "kept"}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    return {}
