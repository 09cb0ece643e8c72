"""A code's uses, and the statements that take and give them back.

A code's uses are two counters on its row: ``uses`` (committed) and ``held`` (reserved for a
basket). Taking a use is one conditional statement::

    UPDATE coupon_codes SET held = held + 1 WHERE id = :id AND uses + held < :limit

so the database decides who gets the last use: on SQLite writes are serialised; on PostgreSQL
a second transaction waits for the first's row lock and then re-checks the condition against
the committed row (READ COMMITTED re-evaluates the WHERE of an UPDATE), so it updates nothing
and is refused. A member's uses of a campaign are counted the same way in
``coupon_member_uses``. Reservations expire (``expires_at``): an abandoned basket gives its use
back when the next reservation of the code needs it, or when ``lojal jobs run`` sweeps.

Rows are locked in one order everywhere — redemption, then code, then the member's counter —
so that PostgreSQL transactions never wait on each other in a circle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.coupons.errors import CouponUsedUp, MemberLimitReached
from lojal.coupons.models import CouponRedemption
from lojal.coupons.validation import Found
from lojal.db.driver import Driver


def locked(session: Session, code_id: int, **by: str) -> CouponRedemption | None:
    """The code's redemption matching ``by``, locked for this transaction (the first lock)."""
    query = select(CouponRedemption).where(CouponRedemption.code_id == code_id)
    for name, value in by.items():
        query = query.where(getattr(CouponRedemption, name) == value)
    return session.scalar(query.with_for_update())


def take(session: Session, found: Found, member_id: int | None, *, hold: bool) -> None:
    """Take a use (``hold``: a reservation's) of the code and of the member's campaign uses;
    the database refuses the one past the limit."""
    db = Driver.of(session)
    column = "held" if hold else "uses"
    limit = found.rules.uses_per_code
    if limit is None:
        db.execute(
            f"UPDATE coupon_codes SET {column} = {column} + 1 WHERE id = ?", (found.code.id,)
        ).close()
    elif _rowcount(
        db,
        f"UPDATE coupon_codes SET {column} = {column} + 1 WHERE id = ? AND uses + held < ?",
        (found.code.id, limit),
    ):
        raise CouponUsedUp("the code has been used up")
    if member_id is None:
        return
    db.execute(
        "INSERT INTO coupon_member_uses (campaign_id, member_id, uses, held) VALUES (?, ?, 0, 0) "
        "ON CONFLICT (campaign_id, member_id) DO NOTHING",
        (found.rules.id, member_id),
    ).close()
    per_member = found.rules.uses_per_member
    sql = (
        f"UPDATE coupon_member_uses SET {column} = {column} + 1 "
        "WHERE campaign_id = ? AND member_id = ?"
    )
    params: tuple[int, ...] = (found.rules.id, member_id)
    if per_member is not None:
        sql += " AND uses + held < ?"
        params = (*params, per_member)
    if _rowcount(db, sql, params):
        raise MemberLimitReached(f"the member has used this campaign {per_member} time(s)")


def _rowcount(db: Driver, sql: str, params: Sequence[object]) -> bool:
    """Run ``sql``; True when it changed no row (the condition refused)."""
    cursor = db.execute(sql, params)
    try:
        return int(cursor.rowcount) == 0
    finally:
        cursor.close()


def move(
    session: Session,
    row: CouponRedemption,
    source: str | None,
    target: str | None,
    by_source: int,
    by_target: int,
) -> None:
    """Change a redemption's counters on its code and its member's campaign uses."""
    db = Driver.of(session)
    sets = ", ".join(
        f"{col} = {col} + {int(n)}" for col, n in ((source, by_source), (target, by_target)) if col
    )
    db.execute(f"UPDATE coupon_codes SET {sets} WHERE id = ?", (row.code_id,)).close()
    if row.member_id is not None:
        db.execute(
            f"UPDATE coupon_member_uses SET {sets} WHERE campaign_id = ? AND member_id = ?",
            (row.campaign_id, row.member_id),
        ).close()


def give_back(session: Session, ended: Sequence[tuple[int, int, int | None]], column: str) -> None:
    if not ended:
        return
    db = Driver.of(session)
    for code_id, n in sorted(Counter(code_id for code_id, _, _ in ended).items()):
        db.execute(
            f"UPDATE coupon_codes SET {column} = {column} - ? WHERE id = ?", (n, code_id)
        ).close()
    members = Counter((c, m) for _, c, m in ended if m is not None)
    for (campaign_id, member_id), n in sorted(members.items()):
        db.execute(
            f"UPDATE coupon_member_uses SET {column} = {column} - ? "
            "WHERE campaign_id = ? AND member_id = ?",
            (n, campaign_id, member_id),
        ).close()
