"""The points ledger's pure core: accounts, the sign convention, and how each business event
becomes balanced postings. No database here — values in, values out.

Accounts
--------
Member accounts (one pair per member) hold the member's points and are never negative:

* ``member_pending``   earned, still inside the pending period (the return window);
* ``member_available`` spendable.

Programme accounts are the other side of every movement:

* ``program_issued``   points the programme has given out (less what returns took back);
* ``program_redeemed`` points members have spent;
* ``program_expired``  points that expired;
* ``program_adjusted`` staff corrections, goodwill and merges of history.

Sign convention
---------------
A posting's ``amount`` is the change of the account's balance, and every journal entry's
postings sum to zero. Member accounts therefore carry positive balances, ``program_issued`` and
``program_adjusted`` (when net generous) carry negative balances, and ``program_redeemed`` and
``program_expired`` positive ones. At every moment::

    member_pending + member_available            (the programme's liability, in points)
      = -(program_issued + program_adjusted) - program_redeemed - program_expired

=============  ===================================  =====================================
entry kind     member side                          programme side
=============  ===================================  =====================================
earn           member_pending   +N  (new lot)       program_issued   -N
activate       member_pending   -N, available +N    (none: a move between member accounts)
spend          member_available -N  (oldest first)  program_redeemed +N
clawback       member_pending/available -N          program_issued   +N
expire         member_pending/available -N          program_expired  +N
adjust (+)     member_available +N  (new lot)       program_adjusted -N
adjust (-)     member_available -N  (oldest first)  program_adjusted +N
merge          from-member -N, into-member +N       (none: lots move, with their dates)
=============  ===================================  =====================================

Points live in *lots*: the points of one earning, with the time they become available and the
time they expire. Every member-side posting names its lot, so a lot's remaining points are a
sum of postings too.

Time
----
A lot's dates decide, not the job that writes their entries. At a moment ``now``:

* a pending lot whose ``available_at <= now`` is available (at ``available_at`` itself the
  points can be spent);
* a lot whose ``expires_at <= now`` is gone (at ``expires_at`` itself nothing is left: the
  last moment to spend is just before it).

``lojal jobs run`` writes the ``activate`` and ``expire`` entries that make the stored state
catch up, but between two runs the stored state lags. ``settlement`` says which entries are
owed at ``now`` (the very entries the job would write) and ``as_of`` what the lots are at
``now``: readers report the balance as of now without writing, and every writer that takes
points from lots first writes what is owed (``ledger.posting.settle``), under the same keys as
the job, so the job later finds them done.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from lojal import calendar as club_calendar
from lojal.errors import Conflict, Invalid

MEMBER_PENDING = "member_pending"
MEMBER_AVAILABLE = "member_available"
PROGRAM_ISSUED = "program_issued"
PROGRAM_REDEEMED = "program_redeemed"
PROGRAM_EXPIRED = "program_expired"
PROGRAM_ADJUSTED = "program_adjusted"
ACCOUNTS = (
    MEMBER_PENDING,
    MEMBER_AVAILABLE,
    PROGRAM_ISSUED,
    PROGRAM_REDEEMED,
    PROGRAM_EXPIRED,
    PROGRAM_ADJUSTED,
)
MEMBER_ACCOUNTS = (MEMBER_PENDING, MEMBER_AVAILABLE)
_ACCOUNT_SET = frozenset(ACCOUNTS)
ENTRY_KINDS = ("earn", "activate", "spend", "clawback", "expire", "adjust", "merge")
LOT_STATES = ("pending", "available", "closed")


class InsufficientPoints(Conflict):
    pass


class UnbalancedEntry(Invalid):
    pass


@dataclass(frozen=True, slots=True)
class Leg:
    """One posting before it is stored. ``lot_id`` None on a member leg means "the new lot"."""

    account: str
    amount: int
    lot_id: int | None = None
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class Lot:
    id: int
    state: str
    remaining: int
    earned_at: datetime
    expires_at: datetime | None = None
    # None: no pending period (available from ``earned_at``)
    available_at: datetime | None = None

    @property
    def available_from(self) -> datetime:
        return self.earned_at if self.available_at is None else self.available_at


def account_of(state: str) -> str:
    return MEMBER_PENDING if state == "pending" else MEMBER_AVAILABLE


def check_balanced(legs: Iterable[Leg]) -> None:
    check_amounts([(leg.account, leg.amount) for leg in legs])


def check_amounts(legs: Iterable[tuple[str, int]]) -> None:
    """The balance rule on (account, amount) pairs: the amounts sum to zero, none is zero, every
    account is one of ``ACCOUNTS``. Plain arithmetic, so that checking every entry of a batch
    of thousands costs next to nothing (``ledger.rows`` checks each entry it builds)."""
    total = 0
    zero = unknown = False
    for account, amount in legs:
        total += amount
        zero = zero or amount == 0
        unknown = unknown or account not in _ACCOUNT_SET
    if total != 0:
        raise UnbalancedEntry(f"postings sum to {total}, not 0")
    if zero:
        raise UnbalancedEntry("a posting of zero points")
    if unknown:
        raise UnbalancedEntry("unknown account")


def fifo_order(lots: Iterable[Lot]) -> list[Lot]:
    """Oldest points first: by earning time, then by lot id."""
    return sorted(lots, key=lambda lot: (lot.earned_at, lot.id))


def take(lots: Sequence[Lot], points: int) -> tuple[list[tuple[Lot, int]], int]:
    """Take up to ``points`` from ``lots`` in the given order. Returns (lot, taken) pairs and
    what could not be taken."""
    taken: list[tuple[Lot, int]] = []
    left = points
    for lot in lots:
        if left == 0:
            break
        if lot.remaining <= 0:
            continue
        n = min(lot.remaining, left)
        taken.append((lot, n))
        left -= n
    return taken, left


def earn(points: int, *, pending: bool = True) -> list[Leg]:
    """Earned points: pending when the programme has a pending period, else available."""
    _positive(points)
    return [
        Leg(MEMBER_PENDING if pending else MEMBER_AVAILABLE, points),
        Leg(PROGRAM_ISSUED, -points),
    ]


def grant(points: int) -> list[Leg]:
    """A positive staff adjustment: a new, immediately available lot."""
    _positive(points)
    return [Leg(MEMBER_AVAILABLE, points), Leg(PROGRAM_ADJUSTED, -points)]


def activate(lot: Lot) -> list[Leg]:
    return [
        Leg(MEMBER_PENDING, -lot.remaining, lot.id),
        Leg(MEMBER_AVAILABLE, lot.remaining, lot.id),
    ]


def spend(available: Sequence[Lot], points: int, *, counter: str = PROGRAM_REDEEMED) -> list[Leg]:
    """Spend ``points`` from available lots, oldest first; never more than there is."""
    _positive(points)
    usable = [lot for lot in available if lot.state == "available"]
    taken, short = take(fifo_order(usable), points)
    if short:
        have = sum(lot.remaining for lot in usable)
        raise InsufficientPoints(
            f"{points} points requested but only {have} are available", available=have
        )
    legs = [Leg(MEMBER_AVAILABLE, -n, lot.id) for lot, n in taken]
    legs.append(Leg(counter, points))
    return legs


def clawback(own: Lot | None, others: Sequence[Lot], points: int) -> tuple[list[Leg], int]:
    """Take back ``points`` after a return: first from the purchase's own lot, then from other
    pending lots (newest first), then from available lots (oldest first). Never below zero:
    returns the legs and the points that could not be recovered."""
    _positive(points)
    pending = sorted(
        (lot for lot in others if lot.state == "pending"),
        key=lambda lot: (lot.earned_at, lot.id),
        reverse=True,
    )
    available = fifo_order(lot for lot in others if lot.state == "available")
    order = ([own] if own is not None and own.state != "closed" else []) + pending + available
    taken, short = take(order, points)
    legs = [Leg(account_of(lot.state), -n, lot.id) for lot, n in taken]
    recovered = points - short
    if recovered:
        legs.append(Leg(PROGRAM_ISSUED, recovered))
    return legs, short


def expire(lot: Lot) -> list[Leg]:
    return [Leg(account_of(lot.state), -lot.remaining, lot.id), Leg(PROGRAM_EXPIRED, lot.remaining)]


def is_due_to_activate(lot: Lot, now: datetime) -> bool:
    """A pending lot whose pending period has ended (at ``available_at`` itself: ended)."""
    return lot.state == "pending" and lot.available_from <= now


def is_expired(lot: Lot, now: datetime) -> bool:
    """A lot past its expiry moment (at ``expires_at`` itself: expired)."""
    return lot.expires_at is not None and lot.expires_at <= now


def settlement(lots: Iterable[Lot], now: datetime) -> list[tuple[str, Lot, list[Leg]]]:
    """The entries owed at ``now`` to these lots, in the order the job writes them for a lot:
    ``("activate", lot, legs)`` then ``("expire", lot, legs)``, each ``lot`` as it stands just
    before its entry. Closed and empty lots owe nothing."""
    owed: list[tuple[str, Lot, list[Leg]]] = []
    for lot in lots:
        if lot.state == "closed" or lot.remaining <= 0:
            continue
        now_lot = lot
        if is_due_to_activate(lot, now):
            owed.append(("activate", lot, activate(lot)))
            now_lot = replace(lot, state="available")
        if is_expired(now_lot, now):
            owed.append(("expire", now_lot, expire(now_lot)))
    return owed


def as_of(lots: Iterable[Lot], now: datetime) -> list[Lot]:
    """The lots as they are at ``now``: pending lots past their pending period are available,
    lots past their expiry are gone. Pure: nothing is written."""
    live: list[Lot] = []
    for lot in lots:
        if lot.state == "closed" or lot.remaining <= 0 or is_expired(lot, now):
            continue
        live.append(replace(lot, state="available") if is_due_to_activate(lot, now) else lot)
    return live


def member_deltas(legs: Iterable[Leg]) -> tuple[int, int, int]:
    """What ``legs`` change: (pending, available, expired) points."""
    pending = available = expired = 0
    for leg in legs:
        if leg.account == MEMBER_PENDING:
            pending += leg.amount
        elif leg.account == MEMBER_AVAILABLE:
            available += leg.amount
        elif leg.account == PROGRAM_EXPIRED:
            expired += leg.amount
    return pending, available, expired


def expiry_for(
    earned_at: datetime, *, months: int | None, round_to_month_end: bool, timezone: str
) -> datetime | None:
    """When points earned at ``earned_at`` expire: ``months`` later in the club's time zone,
    or at the end of that month (the first instant of the next month) when rounding."""
    if months is None:
        return None
    local = earned_at.astimezone(ZoneInfo(timezone))
    if round_to_month_end:
        result = club_calendar.add_months(club_calendar.month_start(local), months + 1)
    else:
        result = club_calendar.add_months(local, months)
    return result.astimezone(earned_at.tzinfo)


def _positive(points: int) -> None:
    if points <= 0:
        raise Invalid("points must be a positive whole number", field="points")
