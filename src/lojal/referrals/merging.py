"""What a member merge does to referrals.

* **Codes** (``referral_codes``, one per member): the target keeps its own code; a target
  without one takes the merged member's. A code that stays with the merged member keeps
  working — whoever joins with it is linked to the member it was merged into — so no link
  that was shared is lost.
* **Referrals as advocate** move to the target: its counts, points, caps and the report
  count both halves (one person, one cap).
* **The referral as referee** (at most one per member) moves to the target when the target
  was not referred itself. When both were, the target's stands (a person is referred once);
  the merged member's stays as history, and if it is still ``pending`` it is refused
  (``already_referred``). One that had already qualified matures as it would have: a real
  purchase qualified it before anyone knew the two were one.
* **A self-referral made by the merge** — one half had referred the other — is never
  rewarded: a ``pending`` one is refused and a ``qualified`` one voided (reason
  ``self_referral``), its pending rewards clawed back. A ``rewarded`` one keeps its matured
  points, like any matured reward.

See ``lojal.members.merging``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lojal.referrals import queries, rewards
from lojal.referrals.models import Referral, ReferralCode
from lojal.referrals.service import configured

TABLES = {"referral_codes": "moved", "referrals": "moved"}


def merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    codes = queries.codes_of(session, [source_id, target_id])
    if source_id in codes and target_id not in codes:
        session.execute(
            update(ReferralCode)
            .where(ReferralCode.member_id == source_id)
            .values(member_id=target_id)
        )
        out["code"] = codes[source_id]
    advocated = len(
        session.scalars(
            update(Referral)
            .where(Referral.advocate_id == source_id)
            .values(advocate_id=target_id, updated_at=now)
            .returning(Referral.id)
        ).all()
    )
    if advocated:
        out["as_advocate"] = advocated
    theirs = queries.referral_of_referee(session, source_id)
    mine = queries.referral_of_referee(session, target_id)
    if theirs is not None and mine is None:
        theirs.referee_id, theirs.updated_at = target_id, now
        out["as_referee"] = theirs.id
    elif theirs is not None and theirs.status == "pending":
        theirs.status, theirs.reason, theirs.updated_at = "refused", "already_referred", now
        out["refused"] = [theirs.id]
    session.flush()
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Referral):
            session.expire(obj, ["advocate_id"])
    for own in list(
        session.scalars(
            select(Referral).where(
                Referral.advocate_id == target_id, Referral.referee_id.in_([source_id, target_id])
            )
        )
    ):
        _no_self_referral(session, own, now, out)
    return out


def _no_self_referral(session: Session, own: Referral, now: datetime, out: dict[str, Any]) -> None:
    """``own`` joins one member with themselves now."""
    if own.status not in ("pending", "qualified"):
        return
    if own.status == "pending":
        own.status, own.reason, own.updated_at = "refused", "self_referral", now
        out.setdefault("refused", []).append(own.id)
    else:
        setup = configured(session)
        if setup is None:
            own.status, own.reason, own.updated_at = "voided", "self_referral", now
            own.voided_at = now
        else:
            why = "the referral was between two accounts of one member (merged)"
            rewards.void(session, own, setup[0], now, reason="self_referral", why=why)
        out.setdefault("voided", []).append(own.id)
    session.flush()
