"""The values of the purchase path (``activities.bulk``): a purchase as a batch takes it, what
a batch answers, what a run of batches keeps between them, and a batch computed but not yet
written (``Prepared``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from lojal.activities.events import LineFacts, PurchaseRecorded
from lojal.fraud.schemas import FraudConfig
from lojal.fraud.velocity import EarnWindow
from lojal.ledger.rows import Rows
from lojal.rules.facts import RuleSet


@dataclass(frozen=True, slots=True)
class BulkPurchase:
    order_id: str
    occurred_at: datetime  # timezone-aware
    lines: Sequence[LineFacts]
    member_id: int | None = None
    email: str | None = None
    phone: str | None = None
    card_number: str | None = None
    external_id: str | None = None
    channel: str = "store"
    store_id: str | None = None
    currency: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # when the points' pending period starts (default: occurred_at); a channel's late
    # purchase waits from when lojal learned of it (lojal.activities.dating)
    pending_from: datetime | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    index: int  # position in the batch
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class Written:
    """What was written for one purchase of the batch (``details=True``)."""

    purchase_id: int
    member_id: int | None
    occurred_at: datetime
    total_minor: int
    points: int
    line_points: tuple[int, ...]
    explanation: str


@dataclass
class BatchResult:
    read: int = 0
    written: int = 0
    skipped: int = 0
    unmatched: int = 0
    points: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    skipped_indices: list[int] = field(default_factory=list)
    # index in the batch -> what was written (only with details=True)
    details: dict[int, Written] = field(default_factory=dict)


class ImportState:
    """What a run of batches learns and keeps between them: the member behind each identity
    already seen, and the members known to have bought (a fact that never becomes false)."""

    def __init__(self) -> None:
        self.identities: dict[tuple[str, str], int] = {}
        self.has_purchase: set[int] = set()

    def trim(self, limit: int = 2_000_000) -> None:
        if len(self.identities) > limit:
            self.identities.clear()
        if len(self.has_purchase) > limit:
            self.has_purchase.clear()


@dataclass(frozen=True, slots=True)
class Waiting:
    """A purchase recorded before its member enrolled, to be credited to them: its row's id,
    its lines' ids in line order, and the purchase as a batch takes it (``member_id`` the
    member it is credited to)."""

    purchase_id: int
    line_ids: Sequence[int]
    purchase: BulkPurchase


@dataclass
class Prepared:
    """A batch computed from what the database said when it was read: its rows with ids
    relative to the batch (the real ids are taken when it is written), and the facts it read,
    so that ``apply(..., verify=True)`` can tell whether they still hold."""

    now: datetime
    result: BatchResult
    state: ImportState
    purchases: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    # the ledger's rows (ledger.rows: each entry checked to balance), ids relative to the
    # batch; an entry's key holds its purchase's relative id until apply()
    ledger: Rows = field(default_factory=Rows)
    usage: list[tuple[Any, ...]] = field(default_factory=list)
    # crediting purchases recorded before their member enrolled: the rows' real ids (by
    # relative id); apply() updates these rows instead of inserting new ones
    credited: list[int] | None = None
    credited_lines: list[int] = field(default_factory=list)
    recorded: list[PurchaseRecorded] = field(default_factory=list)
    bought: set[int] = field(default_factory=set)
    # what was read, for verify=True
    member_rows: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    first_buyers: list[int] = field(default_factory=list)
    cap_reads: dict[tuple[int, str, datetime | None], int] = field(default_factory=dict)
    cap_query: tuple[list[int], list[datetime]] = field(default_factory=lambda: ([], []))
    ruleset: RuleSet | None = None
    zone: ZoneInfo | None = None
    # live purchases (the API's): the fraud guards' earn window, and the purchases whose
    # points it held (relative purchase id, member, order id, points, the limit, when the
    # points would have been available, when they are now)
    guarded: bool = False
    fraud: FraudConfig | None = None
    earn_window: EarnWindow | None = None
    held: list[Held] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Held:
    """A purchase over an earn limit: its points held for review (``lojal.fraud.guards``)."""

    purchase_id: int
    member_id: int
    order_id: str
    points: int
    limit: str
    available_at: datetime
    held_until: datetime
