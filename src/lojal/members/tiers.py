"""The tier a member shows (``members.tier``): decided by ``lojal.tiers``, stored here, by the
feature that owns the ``members`` table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from lojal.db.driver import Driver
from lojal.members.models import Member


def show_tiers(session: Session, tiers: Sequence[tuple[int, str | None]], now: datetime) -> None:
    """Set each ``(member id, tier)`` in one statement; members the session holds are expired so
    that they do not show the tier they had."""
    if not tiers:
        return
    db = Driver.of(session)
    db.many(
        "UPDATE members SET tier = ?, updated_at = ? WHERE id = ?",
        [(tier, db.time(now), member_id) for member_id, tier in tiers],
    )
    for member_id, _ in tiers:
        loaded = session.identity_map.get(identity_key(Member, member_id))
        if loaded is not None:
            session.expire(loaded, ["tier", "updated_at"])
