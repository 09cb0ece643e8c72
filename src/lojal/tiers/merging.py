"""What a member merge does to tiers.

* ``member_tiers`` (one row per member) is **combined** on the target: the higher of the two
  qualified tiers, with its period and review date (at equal tiers, one out of grace beats
  one in grace); and the higher of the two paid tiers with its end (the membership step
  then sets it from the membership that carries on). ``members.tier`` becomes the higher of
  the two, recorded as a tier change (reason ``qualified`` or ``paid_membership``, detail
  ``merged_from``). The merged member's row stops being reviewed.
* The qualifying totals count both: the merged member's purchases are the target's now
  (spend basis), and on the points basis the points the merged member earned count for the
  member it was merged into (``queries.totals``). Right after the merge the target is
  checked again, so two halves that together reach a threshold lift the tier at once.
* ``tier_changes`` is history and stays with the merged member.

See ``lojal.members.merging``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lojal.activities.events import EventRecorded
from lojal.tiers import levels, queries
from lojal.tiers.changes import Decision, write
from lojal.tiers.upgrades import requalify

TABLES = {"member_tiers": "combined", "tier_changes": "kept"}


def merge_members(
    session: Session,
    *,
    source_id: int,
    target_id: int,
    now: datetime,
    dispatch: Callable[[Sequence[EventRecorded]], None],
) -> dict[str, Any]:
    """What the merge did to tiers. ``dispatch`` passes the events each decision recorded to
    the features that react (the merge's ``lojal.reactions``), before the next decision reads."""
    found = levels.configured(session)
    before = queries.states(session, [source_id, target_id])
    source, target = before[source_id], before[target_id]
    if found is None or not source.has_row:
        if found is not None:
            dispatch(requalify(session, member_ids=[target_id], now=now))
        return {}
    tiers = found[1]
    combined = target
    reason = "qualified"
    source_rank = (tiers.rank(source.qualified_tier), not source.in_grace)
    if source_rank > (tiers.rank(target.qualified_tier), not target.in_grace):
        combined = replace(
            combined,
            qualified_tier=source.qualified_tier,
            qualified_since=source.qualified_since,
            review_at=source.review_at,
            in_grace=source.in_grace,
            grace_to=source.grace_to,
        )
    source_paid = (tiers.rank(source.paid_tier), source.paid_until or now)
    if source.paid_tier is not None and source_paid > (
        tiers.rank(target.paid_tier),
        target.paid_until or now,
    ):
        combined = replace(combined, paid_tier=source.paid_tier, paid_until=source.paid_until)
        if tiers.rank(source.paid_tier) > tiers.rank(source.qualified_tier):
            reason = "paid_membership"
    stopped = replace(
        source, review_at=None, in_grace=False, grace_to=None, paid_tier=None, paid_until=None
    )
    detail = {"merged_from": source_id}
    decided = write(
        session,
        tiers,
        before,
        [
            Decision(combined, reason, now, detail),
            Decision(stopped, "period_end", now, detail),
        ],
        now,
    )
    dispatch(decided)
    dispatch(requalify(session, member_ids=[target_id], now=now))
    tier = queries.states(session, [target_id])[target_id].tier
    return {"tier": tier, "from_tier": source.tier, "kept_tier": target.tier}
