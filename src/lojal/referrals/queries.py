"""Reads: codes, a member's referrals, the facts the guards need, and the report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from lojal.activities.models import Purchase, Return
from lojal.members.models import Member
from lojal.referrals.guards import Fingerprint
from lojal.referrals.models import Referral, ReferralCode
from lojal.referrals.schemas import AdvocateFigures, ReferralCounts

COUNTED = ("qualified", "rewarded")  # the referrals a cap counts


def codes_of(session: Session, member_ids: Sequence[int]) -> dict[int, str]:
    if not member_ids:
        return {}
    rows = session.execute(
        select(ReferralCode.member_id, ReferralCode.code).where(
            ReferralCode.member_id.in_(member_ids)
        )
    )
    return {int(member_id): str(code) for member_id, code in rows}


def codes_taken(session: Session, codes: Iterable[str]) -> set[str]:
    wanted = list(codes)
    if not wanted:
        return set()
    return set(session.scalars(select(ReferralCode.code).where(ReferralCode.code.in_(wanted))))


def member_id_by_code(session: Session, code: str) -> int | None:
    return session.scalar(select(ReferralCode.member_id).where(ReferralCode.code == code))


def referral_of_referee(session: Session, member_id: int) -> Referral | None:
    return session.scalar(select(Referral).where(Referral.referee_id == member_id))


def has_purchased(session: Session, member_id: int, identities: Iterable[tuple[str, str]]) -> bool:
    """Whether the member has bought before: a purchase of theirs, or one that arrived for one
    of their identities before they enrolled (still waiting to be credited)."""
    if session.scalar(select(Purchase.id).where(Purchase.member_id == member_id).limit(1)):
        return True
    return any(
        session.scalar(
            select(Purchase.id)
            .where(
                Purchase.member_id.is_(None),
                Purchase.identity_kind == kind,
                Purchase.identity_value == value,
            )
            .limit(1)
        )
        is not None
        for kind, value in identities
    )


def fingerprint(member: Member) -> Fingerprint:
    return Fingerprint.of([(i.kind, i.value) for i in member.identities], member.attributes)


def load_members(session: Session, member_ids: Iterable[int]) -> dict[int, Member]:
    """Members with their identities, in one query (and one for the identities)."""
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    return {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(ids)))}


def counted_times(
    session: Session, advocate_ids: Sequence[int], since: datetime | None
) -> dict[int, list[datetime]]:
    """When each advocate's counted referrals qualified (from ``since``; None: all)."""
    query = select(Referral.advocate_id, Referral.qualified_at).where(
        Referral.advocate_id.in_(advocate_ids), Referral.status.in_(COUNTED)
    )
    if since is not None:
        query = query.where(Referral.qualified_at >= since)
    out: dict[int, list[datetime]] = defaultdict(list)
    for advocate_id, at in session.execute(query):
        if at is not None:
            out[advocate_id].append(at)
    return out


def counts_for(session: Session, advocate_id: int) -> tuple[ReferralCounts, int, int]:
    """An advocate's referrals by status, their matured points and their pending points."""
    counts: dict[str, int] = {}
    earned = pending = 0
    for status, n, points in session.execute(
        select(Referral.status, func.count(), func.coalesce(func.sum(Referral.advocate_points), 0))
        .where(Referral.advocate_id == advocate_id)
        .group_by(Referral.status)
    ):
        counts[status] = int(n)
        if status == "rewarded":
            earned = int(points)
        elif status == "qualified":
            pending = int(points)
    return ReferralCounts(**counts), earned, pending


def page(
    session: Session,
    *,
    advocate_id: int | None,
    referee_id: int | None,
    status: str | None,
    before: int | None,
    limit: int,
) -> list[Referral]:
    query = select(Referral)
    if advocate_id is not None:
        query = query.where(Referral.advocate_id == advocate_id)
    if referee_id is not None:
        query = query.where(Referral.referee_id == referee_id)
    if status is not None:
        query = query.where(Referral.status == status)
    if before is not None:
        query = query.where(Referral.id < before)
    return list(session.scalars(query.order_by(Referral.id.desc()).limit(limit)))


# ------------------------------------------------------------------ the report


def top_advocates(
    session: Session, where: Sequence[ColumnElement[bool]], *, limit: int, offset: int
) -> list[int]:
    """The advocates with the most referrals first."""
    n = func.count()
    return list(
        session.scalars(
            select(Referral.advocate_id)
            .where(*where)
            .group_by(Referral.advocate_id)
            .order_by(n.desc(), Referral.advocate_id)
            .limit(limit)
            .offset(offset)
        )
    )


def figures(
    session: Session, where: Sequence[ColumnElement[bool]], *, by_advocate: bool
) -> dict[int | None, AdvocateFigures]:
    """The report's figures for the referrals matching ``where``: per advocate, or in total
    (under the key None). Three grouped queries, whatever the number of referrals."""
    group: list[Any] = [Referral.advocate_id] if by_advocate else []

    def key(row: Any) -> int | None:
        return int(row[0]) if by_advocate else None

    acc: dict[int | None, dict[str, Any]] = defaultdict(
        lambda: {
            "counts": defaultdict(int),
            "reasons": defaultdict(int),
            "advocate_given": 0,
            "referee_given": 0,
            "pending": 0,
            "clawed_back": 0,
            "purchases": 0,
            "revenue": 0,
        }
    )
    both = Referral.advocate_points + Referral.referee_points
    for row in session.execute(
        select(
            *group,
            Referral.status,
            Referral.reason,
            func.count(),
            func.coalesce(func.sum(Referral.advocate_points), 0),
            func.coalesce(func.sum(Referral.referee_points), 0),
            func.coalesce(func.sum(both), 0),
        )
        .where(*where)
        .group_by(*group, Referral.status, Referral.reason)
    ):
        status, reason, n, advocate_points, referee_points, points = row[len(group) :]
        a = acc[key(row)]
        a["counts"][status] += int(n)
        if status == "refused":
            a["reasons"][reason or "unknown"] += int(n)
        elif status == "rewarded":
            a["advocate_given"] += int(advocate_points)
            a["referee_given"] += int(referee_points)
        elif status == "qualified":
            a["pending"] += int(points)
        elif status == "voided":
            a["clawed_back"] += int(points)
    brought = [*where, Referral.status != "refused"]
    theirs = and_(
        Purchase.member_id == Referral.referee_id, Purchase.occurred_at >= Referral.referred_at
    )
    for row in session.execute(
        select(*group, func.count(Purchase.id), func.coalesce(func.sum(Purchase.total_minor), 0))
        .select_from(Referral)
        .join(Purchase, theirs)
        .where(*brought)
        .group_by(*group)
    ):
        a = acc[key(row)]
        a["purchases"] += int(row[-2])
        a["revenue"] += int(row[-1])
    for row in session.execute(
        select(*group, func.coalesce(func.sum(Return.total_minor), 0))
        .select_from(Referral)
        .join(Purchase, theirs)
        .join(Return, Return.purchase_id == Purchase.id)
        .where(*brought)
        .group_by(*group)
    ):
        acc[key(row)]["revenue"] -= int(row[-1])
    return {
        k: AdvocateFigures(
            referrals=sum(a["counts"].values()),
            counts=ReferralCounts(**a["counts"]),
            refused_by_reason=dict(sorted(a["reasons"].items())),
            advocate_points_given=a["advocate_given"],
            referee_points_given=a["referee_given"],
            points_pending=a["pending"],
            points_clawed_back=a["clawed_back"],
            referee_purchases=a["purchases"],
            referee_revenue_minor=a["revenue"],
        )
        for k, a in acc.items()
    }


def empty_figures() -> AdvocateFigures:
    return AdvocateFigures(
        referrals=0,
        counts=ReferralCounts(),
        refused_by_reason={},
        advocate_points_given=0,
        referee_points_given=0,
        points_pending=0,
        points_clawed_back=0,
        referee_purchases=0,
        referee_revenue_minor=0,
    )
