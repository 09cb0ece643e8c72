"""The life of a referral after it is linked: qualify, mature (rewarded), or void.

1. **Qualifying purchase.** The referee's first purchase made at or after the referral whose
   total is at least ``min_spend_minor`` (and above zero). ``on_purchases`` runs in the same
   transaction as every batch of purchases (``lojal.reactions.after_purchases``: the API's
   group, an import batch, activity credited at enrolment): it keeps the batch's purchases
   that are big enough, asks once which of their members have a pending referral, and does
   nothing more for a batch without one (and nothing at all for a club without referrals).
   At qualification the guards run again — a referee may have added the advocate's address
   since enrolling — and then the advocate's caps: a referral beyond "N per period"
   (counted by the qualifying purchase's time, in the club's time zone, over the advocate's
   qualified and rewarded referrals) is ``capped`` and gives nothing.
2. **Rewards.** Each side's reward is an ``earn`` in the ledger with the key and source
   ``referral:<id>:advocate`` / ``referral:<id>:referee``, earned at the qualifying purchase
   and available when its return window (the programme's ``pending_days``) ends: the
   referral's ``matures_at``. With ``rewards_pending`` (the default) both are written at
   qualification, as pending points the members can see but not spend; without it nothing
   is written until maturity. A side whose member is no longer active gets nothing.
3. **Maturity.** ``mature_due`` (in ``lojal jobs run``) marks qualified referrals whose
   window has passed ``rewarded``, writing the rewards if they do not exist yet (the ledger
   itself makes pending lots available). A purchase that qualifies after its window has
   already passed (an import of history, ``pending_days: 0``) is rewarded at once.
4. **Return.** ``on_returns`` (``lojal.reactions.after_returns``): when returns of the
   qualifying order that happened *before* ``matures_at`` bring its net value below the
   minimum spend (a whole order returned always does), the referral is ``voided`` and what
   was given is clawed back (``referral:<id>:<side>:void``). A return after the window
   changes nothing: the reward had matured.

Every write is keyed on the referral (status moves only forward, ledger keys are unique), so
the same purchase, return or job run twice rewards once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.activities.events import PurchaseRecorded, ReturnRecorded
from lojal.activities.models import Purchase, Return
from lojal.db.driver import Driver
from lojal.ledger import posting as ledger_posting
from lojal.ledger import service as ledger
from lojal.ledger.models import PointBalance, PointLot
from lojal.members import service as members
from lojal.members.models import Member
from lojal.program.schemas import ProgramConfig
from lojal.referrals import guards, queries
from lojal.referrals.models import Referral
from lojal.referrals.schemas import ReferralConfig
from lojal.referrals.service import configured
from lojal.rules.engine import cap_window

SIDES = ("advocate", "referee")


def on_purchases(session: Session, purchases: Sequence[PurchaseRecorded], now: datetime) -> None:
    """Qualify the pending referrals whose referee made a qualifying purchase in the batch."""
    setup = configured(session)
    if setup is None:
        return
    program, settings = setup
    minimum = max(settings.min_spend_minor, 1)
    big_enough: dict[int, list[PurchaseRecorded]] = defaultdict(list)
    for purchase in purchases:
        if purchase.total_minor >= minimum:
            big_enough[purchase.member_id].append(purchase)
    if not big_enough:
        return
    db = Driver.of(session)
    found: list[tuple[int, PurchaseRecorded]] = []
    for referral_id, referee_id, referred_at in list(
        db.in_chunks(
            "SELECT id, referee_id, referred_at FROM referrals "
            "WHERE status = 'pending' AND referee_id IN ({})",
            sorted(big_enough),
        )
    ):
        since = db.read_time(referred_at)
        first = min(
            (p for p in big_enough[referee_id] if p.occurred_at >= since),
            key=lambda p: (p.occurred_at, p.purchase_id),
            default=None,
        )
        if first is not None:
            found.append((int(referral_id), first))
    if found:
        _qualify(session, program, settings, found, now)


def _qualify(
    session: Session,
    program: ProgramConfig,
    settings: ReferralConfig,
    found: list[tuple[int, PurchaseRecorded]],
    now: datetime,
) -> None:
    found.sort(key=lambda item: (item[1].occurred_at, item[1].purchase_id))
    referrals = {
        r.id: r
        for r in session.scalars(
            select(Referral).where(Referral.id.in_([referral_id for referral_id, _ in found]))
        )
    }
    people = queries.load_members(
        session, [m for r in referrals.values() for m in (r.advocate_id, r.referee_id)]
    )
    advocates = {r.id: members.resolve(session, people[r.advocate_id]) for r in referrals.values()}
    caps = _Caps(session, program, settings, advocates.values(), [p for _, p in found])
    pending_days = timedelta(days=program.pending_days)
    for referral_id, purchase in found:
        referral = referrals[referral_id]
        if referral.status != "pending":
            continue
        referee = people[referral.referee_id]
        if referee.status != "active":
            continue  # a closed member's purchases qualify nothing
        advocate = advocates[referral.id]
        reason = guards.shared(queries.fingerprint(advocate), queries.fingerprint(referee))
        referral.updated_at = now
        if reason is not None:
            referral.status, referral.reason = "refused", reason
            continue
        full = caps.full(advocate.id, purchase.occurred_at)
        if full is not None:
            referral.status, referral.reason = "capped", f"cap_{full}"
            continue
        caps.count(advocate.id, purchase.occurred_at)
        referral.status = "qualified"
        referral.qualifying_purchase_id = purchase.purchase_id
        referral.qualifying_order_id = purchase.order_id
        referral.qualified_at = purchase.occurred_at
        referral.matures_at = purchase.occurred_at + pending_days
        if settings.rewards_pending or referral.matures_at <= now:
            _grant(session, referral, program, settings, now)
        if referral.matures_at <= now:
            referral.status, referral.rewarded_at = "rewarded", now
    session.flush()


class _Caps:
    """The advocates' counted referrals per cap window, read once for the batch (under the
    advocates' balance locks on PostgreSQL, so that two batches cannot both take the last
    place) and kept up to date as referrals of the batch qualify."""

    def __init__(
        self,
        session: Session,
        program: ProgramConfig,
        settings: ReferralConfig,
        advocates: Iterable[Member],
        purchases: Sequence[PurchaseRecorded],
    ) -> None:
        self.caps = settings.caps
        self.timezone = program.timezone
        self.times: dict[int, list[datetime]] = {}
        if not self.caps:
            return
        ids = sorted({m.id for m in advocates})
        session.execute(
            select(PointBalance.member_id)
            .where(PointBalance.member_id.in_(ids))
            .order_by(PointBalance.member_id)
            .with_for_update()
        ).all()
        earliest = min(p.occurred_at for p in purchases)
        starts = [self._window(period, earliest) for period in self.caps]
        since = None if any(s is None for s in starts) else min(s[0] for s in starts if s)
        self.times = queries.counted_times(session, ids, since)

    def _window(self, period: str, at: datetime) -> tuple[datetime, datetime] | None:
        return cap_window(period, at, self.timezone)

    def full(self, advocate_id: int, at: datetime) -> str | None:
        """The first cap period that has no room left at ``at``, or None."""
        for period, limit in self.caps.items():
            window = self._window(period, at)
            times = self.times.get(advocate_id, [])
            used = (
                len(times)
                if window is None
                else sum(1 for t in times if window[0] <= t < window[1])
            )
            if used >= limit:
                return period
        return None

    def count(self, advocate_id: int, at: datetime) -> None:
        if self.caps:
            self.times.setdefault(advocate_id, []).append(at)


def _grant(
    session: Session,
    referral: Referral,
    program: ProgramConfig,
    settings: ReferralConfig,
    now: datetime,
) -> None:
    """Write both rewards (each once: the ledger key is the referral's)."""
    assert referral.qualified_at is not None
    referee = members.get(session, referral.referee_id)
    friend = referee.first_name or "your friend"
    order = referral.qualifying_order_id
    name = program.point_name
    for side in SIDES:
        points = settings.advocate_points if side == "advocate" else settings.referee_points
        member = members.resolve(session, members.get(session, getattr(referral, f"{side}_id")))
        if points <= 0 or member.status != "active":
            continue
        key = f"referral:{referral.id}:{side}"
        explanation = (
            f"+{points} {name}: {friend} joined through your referral and made a first "
            f"purchase (order {order})"
            if side == "advocate"
            else f"+{points} {name}: welcome bonus for joining through a friend's referral "
            f"(first purchase, order {order})"
        )
        entry = ledger.earn(
            session,
            member_id=member.id,
            points=points,
            key=key,
            earned_at=referral.qualified_at,
            now=now,
            config=program,
            source=key,
            explanation=explanation,
            detail={"referral_id": referral.id, "side": side, "order_id": order},
        )
        setattr(referral, f"{side}_points", entry.points)


def mature_due(session: Session, *, now: datetime, limit: int = 2000) -> int:
    """Reward the qualified referrals whose return window has passed. Safe to run twice."""
    setup = configured(session)
    if setup is None:
        return 0
    program, settings = setup
    due = list(
        session.scalars(
            select(Referral)
            .where(Referral.status == "qualified", Referral.matures_at <= now)
            .order_by(Referral.id)
            .limit(limit)
            .with_for_update()
        )
    )
    for referral in due:
        _grant(session, referral, program, settings, now)
        referral.status, referral.rewarded_at, referral.updated_at = "rewarded", now, now
    session.flush()
    return len(due)


def on_returns(session: Session, returns: Sequence[ReturnRecorded], now: datetime) -> None:
    """Void the referrals whose qualifying order was returned inside its return window."""
    setup = configured(session)
    if setup is None:
        return
    program, settings = setup
    touched = list(
        session.scalars(
            select(Referral)
            .where(
                Referral.qualifying_purchase_id.in_(sorted({r.purchase_id for r in returns})),
                Referral.status.in_(queries.COUNTED),
            )
            .with_for_update()
        )
    )
    minimum = max(settings.min_spend_minor, 1)
    for referral in touched:
        assert referral.qualifying_purchase_id is not None
        assert referral.matures_at is not None
        total = session.scalar(
            select(Purchase.total_minor).where(Purchase.id == referral.qualifying_purchase_id)
        )
        returned = session.scalar(
            select(func.coalesce(func.sum(Return.total_minor), 0)).where(
                Return.purchase_id == referral.qualifying_purchase_id,
                Return.occurred_at < referral.matures_at,
            )
        )
        if int(total or 0) - int(returned or 0) >= minimum:
            continue
        why = (
            f"order {referral.qualifying_order_id} was returned before the referral reward matured"
        )
        void(session, referral, program, now, reason="returned", why=why)
    session.flush()


def void(
    session: Session,
    referral: Referral,
    program: ProgramConfig,
    now: datetime,
    *,
    reason: str,
    why: str,
) -> None:
    """Void a referral that has not matured, and claw back what it gave (``why`` ends the
    clawbacks' explanation)."""
    referral.status, referral.reason = "voided", reason
    referral.voided_at = referral.updated_at = now
    for side in SIDES:
        key = f"referral:{referral.id}:{side}"
        entry = ledger_posting.find_entry(session, key)
        if entry is None:
            continue
        member = members.resolve(session, members.get(session, entry.member_id))
        own_lot = session.scalar(select(PointLot.id).where(PointLot.entry_id == entry.id))
        ledger.clawback(
            session,
            member_id=member.id,
            points=entry.points,
            own_lot_id=own_lot,
            key=f"{key}:void",
            now=now,
            explanation=f"-{entry.points} {program.point_name}: {why}",
            detail={"referral_id": referral.id, "side": side},
        )
