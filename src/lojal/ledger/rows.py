"""The rows of journal entries, built from plain values — the one place that turns an entry
into what the ledger stores, and refuses an entry that does not balance.

An entry becomes: its ``journal_entries`` row, its postings, the lots it opens, what it
changes of existing lots' ``remaining``, and what it changes of each member's balance
(pending, available and the lifetime figures). ``Rows`` collects these for one entry or for
a batch of thousands; every entry it is given is checked with ``entries.check_amounts`` (the
postings sum to zero, none is zero, every account is known) before anything is added, and
an unbalanced one raises ``UnbalancedEntry``.

Pure: nothing here reads or writes a database. Two writers store the rows:
``ledger.writer.write`` (many entries in one go, on the driver: the purchase path, an import,
``ledger.bulk.earn_many``) and ``ledger.posting.post`` (one entry through the ORM: spends,
adjustments, clawbacks, the jobs' entries, merges).

Ids are the caller's: ids relative to the batch (``0, 1, 2, ...`` for entries and for the lots
they open), which the writer replaces by the ids it takes when it inserts. A posting names
either a lot this batch opens (relative id) or a lot that exists (its real id); the last
element of a posting row says which. Times, the entry's key and ``detail`` are stored as
given: the driver's writer gets them already in the database's form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lojal.errors import Invalid
from lojal.ledger.entries import (
    MEMBER_ACCOUNTS,
    MEMBER_AVAILABLE,
    MEMBER_PENDING,
    PROGRAM_ADJUSTED,
    PROGRAM_EXPIRED,
    PROGRAM_ISSUED,
    PROGRAM_REDEEMED,
    Leg,
    check_amounts,
)
from lojal.ledger.errors import LedgerMismatch

ENTRY_COLUMNS = (
    "id",
    "member_id",
    "kind",
    "key",
    "effective_at",
    "recorded_at",
    "points",
    "explanation",
    "detail",
)
LOT_COLUMNS = (
    "id",
    "member_id",
    "entry_id",
    "points",
    "remaining",
    "state",
    "earned_at",
    "available_at",
    "expires_at",
    "source",
)
POSTING_COLUMNS = ("entry_id", "member_id", "account", "amount", "lot_id")
# the balance figures an entry changes, in this order
BALANCE_FIGURES = (
    "pending",
    "available",
    "lifetime_earned",
    "lifetime_spent",
    "lifetime_expired",
)


@dataclass(frozen=True, slots=True)
class NewLot:
    """A lot an entry opens; its state follows the account of the leg that opens it."""

    earned_at: Any
    available_at: Any
    expires_at: Any
    source: str


class Rows:
    """The rows of some entries, ready for a writer.

    ``entries``, ``lots``: tuples in ``ENTRY_COLUMNS``/``LOT_COLUMNS`` order; ``postings``:
    ``POSTING_COLUMNS`` and a last element, True when ``lot_id`` is a lot these rows open;
    ``lot_changes``: existing lot id → change of its ``remaining``; ``balances``: member id →
    the change of each of ``BALANCE_FIGURES``."""

    __slots__ = ("balances", "entries", "lot_changes", "lots", "postings")

    def __init__(self) -> None:
        self.entries: list[tuple[Any, ...]] = []
        self.lots: list[tuple[Any, ...]] = []
        self.postings: list[tuple[Any, ...]] = []
        self.lot_changes: dict[int, int] = {}
        self.balances: dict[int, list[int]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def _balance(self, member_id: int) -> list[int]:
        figures = self.balances.get(member_id)
        if figures is None:
            figures = self.balances[member_id] = [0, 0, 0, 0, 0]
        return figures

    def earn(
        self,
        *,
        entry_id: int,
        lot_id: int,
        member_id: int,
        key: Any,
        points: int,
        earned_at: Any,
        recorded_at: Any,
        available_at: Any,
        expires_at: Any,
        pending: bool,
        source: str,
        explanation: str,
        detail: Any,
    ) -> None:
        """An earn entry opening its own lot — ``entries.earn``'s two legs — written as
        tuples at once: the path of every purchase, so no object is built per leg."""
        account = MEMBER_PENDING if pending else MEMBER_AVAILABLE
        check_amounts(((account, points), (PROGRAM_ISSUED, -points)))
        if points < 0:
            raise Invalid("points must be a positive whole number", field="points")
        self.entries.append(
            (
                entry_id,
                member_id,
                "earn",
                key,
                earned_at,
                recorded_at,
                points,
                explanation[:1000],
                detail,
            )
        )
        self.lots.append(
            (
                lot_id,
                member_id,
                entry_id,
                points,
                points,
                "pending" if pending else "available",
                earned_at,
                available_at,
                expires_at,
                source[:200],
            )
        )
        self.postings.append((entry_id, member_id, account, points, lot_id, True))
        self.postings.append((entry_id, member_id, PROGRAM_ISSUED, -points, None, False))
        figures = self._balance(member_id)
        figures[0 if pending else 1] += points
        figures[2] += points

    def entry(
        self,
        *,
        entry_id: int,
        member_id: int,
        kind: str,
        key: Any,
        legs: Sequence[Leg],
        effective_at: datetime,
        recorded_at: datetime,
        explanation: str = "",
        detail: Any = None,
        new_lots: Sequence[tuple[int, NewLot]] = (),
    ) -> None:
        """Any entry, from its legs (``lojal.ledger.entries``). A member leg with ``lot_id``
        None opens a lot: the k-th such leg opens ``new_lots[k]`` (an id and its dates); a
        leg's ``member_id`` None means the entry's member."""
        check_amounts([(leg.account, leg.amount) for leg in legs])
        points = sum(leg.amount for leg in legs if leg.amount > 0)
        self.entries.append(
            (
                entry_id,
                member_id,
                kind,
                key,
                effective_at,
                recorded_at,
                points,
                explanation[:1000],
                {} if detail is None else detail,
            )
        )
        opened = 0
        for leg in legs:
            owner = member_id if leg.member_id is None else leg.member_id
            lot_id = leg.lot_id
            new = False
            if leg.account in MEMBER_ACCOUNTS:
                if lot_id is None:
                    if opened >= len(new_lots):
                        raise LedgerMismatch("a member posting without a lot")
                    lot_id, lot = new_lots[opened]
                    opened += 1
                    new = True
                    self.lots.append(
                        (
                            lot_id,
                            owner,
                            entry_id,
                            leg.amount,
                            leg.amount,
                            "pending" if leg.account == MEMBER_PENDING else "available",
                            lot.earned_at,
                            lot.available_at,
                            lot.expires_at,
                            lot.source[:200],
                        )
                    )
                else:
                    self.lot_changes[lot_id] = self.lot_changes.get(lot_id, 0) + leg.amount
                self._balance(owner)[0 if leg.account == MEMBER_PENDING else 1] += leg.amount
            self.postings.append((entry_id, owner, leg.account, leg.amount, lot_id, new))
        lifetime = _lifetime(kind, points, legs)
        if any(lifetime):
            figures = self._balance(member_id)
            for i, change in enumerate(lifetime, start=2):
                figures[i] += change


def _lifetime(kind: str, points: int, legs: Sequence[Leg]) -> tuple[int, int, int]:
    """What an entry adds to its member's lifetime figures: (earned, spent, expired)."""
    if kind == "earn":
        return points, 0, 0
    if kind == "clawback":
        return -sum(leg.amount for leg in legs if leg.account == PROGRAM_ISSUED), 0, 0
    if kind == "spend":
        return 0, sum(leg.amount for leg in legs if leg.account == PROGRAM_REDEEMED), 0
    if kind == "expire":
        return 0, 0, sum(leg.amount for leg in legs if leg.account == PROGRAM_EXPIRED)
    if kind == "adjust":
        return sum(-leg.amount for leg in legs if leg.account == PROGRAM_ADJUSTED), 0, 0
    return 0, 0, 0
