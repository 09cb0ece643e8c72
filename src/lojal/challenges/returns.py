"""Returns in challenge progress (``on_returns``, called from ``lojal.reactions``). A returned
purchase is **taken out of an unfinished attempt** — the purchase is counted again as what is
left of it (the lines and money not returned), and what no longer counts is removed: the whole
order returned un-counts it, a returned category leaves a ``distinct`` goal, returned money
leaves a ``sum``. A **completed attempt stays completed** and its reward is not taken back: the
challenge rewarded what the member did, and the purchase's own points are already clawed back
by the ledger (a club that fears abuse keeps a pending period, so that challenge points, like
purchase points, are pending until the return window has passed). A return only ever takes
away.

For returns this module locks the members' balance rows itself, in member order, like the
counting of events (``lojal.challenges.progress``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from lojal.activities.events import LineFacts, PurchaseRecorded, ReturnRecorded
from lojal.challenges import engine
from lojal.challenges.engine import Fact
from lojal.challenges.matching import PurchaseScope
from lojal.challenges.progress import forget_cached
from lojal.challenges.queries import lock_members, marks, member_views, running
from lojal.db.driver import Driver


def on_returns(session: Session, returns: Sequence[ReturnRecorded], now: datetime) -> None:
    challenges = running(session, "purchase")
    if not challenges or not returns:
        return
    by_id = {c.spec.id: c for c in challenges}
    db = Driver.of(session)
    member_ids = sorted({r.member_id for r in returns})
    purchase_ids = sorted({r.purchase_id for r in returns})
    ids = sorted(by_id)
    lock_members(db, member_ids)
    # What these purchases counted in attempts still under way.
    counted: dict[tuple[int, int, int], list[tuple[int, str, int]]] = {}
    for fact_id, challenge_id, member_id, source_id, value, amount in db.in_chunks(
        "SELECT f.id, f.challenge_id, f.member_id, f.source_id, f.value, f.amount "
        "FROM challenge_facts f JOIN challenge_progress p ON p.member_id = f.member_id "
        "AND p.challenge_id = f.challenge_id AND p.attempt = f.attempt "
        f"WHERE p.state = 'active' AND f.source = 'purchase' "
        f"AND f.challenge_id IN ({marks(len(ids))}) "
        f"AND f.member_id IN ({marks(len(member_ids))}) AND f.source_id IN ({{}})",
        purchase_ids,
        [*ids, *member_ids],
    ):
        key = (int(challenge_id), int(member_id), int(source_id))
        counted.setdefault(key, []).append((int(fact_id), value, int(amount)))
    if not counted:
        return
    left = _what_is_left(db, sorted({key[2] for key in counted}))
    members = member_views(db, member_ids)
    zone = challenges[0].spec.zone
    removed: list[int] = []
    reduced: list[tuple[int, int]] = []
    for (challenge_id, member_id, purchase_id), facts in counted.items():
        purchase = left.get(purchase_id)
        member = members.get(member_id)
        got = None
        if purchase is not None and member is not None:
            got = by_id[challenge_id].matcher.purchase(PurchaseScope(purchase, member, zone))
        if got is None:
            removed.extend(fact_id for fact_id, _, _ in facts)
            continue
        values, amount = got
        for fact_id, value, old in facts:
            if value not in values:
                removed.append(fact_id)
            elif old > amount:
                reduced.append((amount, fact_id))
    if not removed and not reduced:
        return
    for start in range(0, len(removed), 500):
        chunk = removed[start : start + 500]
        db.execute(f"DELETE FROM challenge_facts WHERE id IN ({marks(len(chunk))})", chunk).close()
    db.many("UPDATE challenge_facts SET amount = ? WHERE id = ?", reduced)
    # The attempts' progress, recomputed from what they still count.
    pairs = sorted({(key[0], key[1]) for key in counted})
    kept: dict[tuple[int, int], list[Fact]] = {pair: [] for pair in pairs}
    for challenge_id, member_id, attempt, value, amount, period in db.in_chunks(
        "SELECT f.challenge_id, f.member_id, f.attempt, f.value, f.amount, f.period "
        "FROM challenge_facts f JOIN challenge_progress p ON p.member_id = f.member_id "
        "AND p.challenge_id = f.challenge_id AND p.attempt = f.attempt "
        f"WHERE p.state = 'active' AND f.challenge_id IN ({marks(len(ids))}) "
        "AND f.member_id IN ({})",
        member_ids,
        ids,
    ):
        pair = (int(challenge_id), int(member_id))
        if pair in kept:
            kept[pair].append(Fact(int(attempt), value, int(amount), period))
    db.many(
        "UPDATE challenge_progress SET progress = ?, updated_at = ? "
        "WHERE challenge_id = ? AND member_id = ?",
        [
            (engine.measure(by_id[pair[0]].spec.goal, kept[pair]), db.time(now), *pair)
            for pair in pairs
        ],
    )
    forget_cached(session)


def _what_is_left(db: Driver, purchase_ids: Sequence[int]) -> dict[int, PurchaseRecorded]:
    """The purchases as they stand after their returns: the units and money not returned."""
    placeholders = marks(len(purchase_ids))
    returned: dict[int, tuple[int, int]] = {
        int(line_id): (int(quantity), int(amount))
        for line_id, quantity, amount in db.all(
            "SELECT rl.purchase_line_id, SUM(rl.quantity), SUM(rl.amount_minor) "
            "FROM return_lines rl JOIN returns r ON r.id = rl.return_id "
            f"WHERE r.purchase_id IN ({placeholders}) GROUP BY rl.purchase_line_id",
            purchase_ids,
        )
    }
    lines: dict[int, list[LineFacts]] = {}
    for line_id, purchase_id, sku, name, category, quantity, price, total in db.all(
        "SELECT id, purchase_id, sku, name, category, quantity, unit_price_minor, total_minor "
        f"FROM purchase_lines WHERE purchase_id IN ({placeholders}) "
        "ORDER BY purchase_id, line_no",
        purchase_ids,
    ):
        gone, money = returned.get(int(line_id), (0, 0))
        if quantity - gone > 0:
            lines.setdefault(int(purchase_id), []).append(
                LineFacts(sku, quantity - gone, price, max(0, total - money), name, category)
            )
    out: dict[int, PurchaseRecorded] = {}
    rows = db.all(
        "SELECT id, order_id, member_id, occurred_at, channel, store_id FROM purchases "
        f"WHERE id IN ({placeholders})",
        purchase_ids,
    )
    owners = sorted({int(row[2]) for row in rows if row[2] is not None})
    first = {
        int(member_id): int(first_id)
        for member_id, first_id in db.in_chunks(
            "SELECT member_id, MIN(id) FROM purchases WHERE member_id IN ({}) GROUP BY member_id",
            owners,
        )
    }
    for purchase_id, order_id, member_id, occurred_at, channel, store_id in rows:
        if member_id is None:
            continue
        kept = lines.get(int(purchase_id), [])
        out[int(purchase_id)] = PurchaseRecorded(
            purchase_id=int(purchase_id),
            order_id=order_id,
            member_id=int(member_id),
            occurred_at=db.read_time(occurred_at),
            channel=channel,
            store_id=store_id,
            total_minor=sum(line.total_minor for line in kept),
            points=0,
            lines=kept,
            first_purchase=first.get(int(member_id)) == int(purchase_id),
        )
    return out
