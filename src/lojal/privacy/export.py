"""A member's data export (GDPR art. 15 and 20): everything lojal stores about them, as JSON.

The export is read from the schema itself, not from a list: the member's row and, from every
table with a column that refers to ``members.id``, each row that names the member — so a table a
new feature adds is in the export from the day it exists. Members merged into this one are the
same person: their rows come too (``merged`` lists them).
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, or_, select
from sqlalchemy.orm import Session

from lojal.db.base import Base
from lojal.members.errors import MemberNotFound
from lojal.members.models import Member

FORMAT = "lojal.member-export/1"
# Tables that name a member without a foreign key: records that outlive what they describe.
UNLINKED = {"audit_log": ("about_member_id",)}


def member_columns() -> dict[str, list[str]]:
    """Each table that refers to members, with the columns that do (``members`` itself: the
    merge pointer), and the tables that name a member without a foreign key (``UNLINKED``)."""
    out: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        refs = [
            c.name
            for c in table.columns
            for fk in c.foreign_keys
            if fk.column.table.name == "members"
        ] or list(UNLINKED.get(table.name, ()))
        if refs:
            out[table.name] = refs
    return out


def the_person(session: Session, member_id: int) -> list[int]:
    """The member and every member merged into them (directly or through earlier merges)."""
    if session.get(Member, member_id) is None:
        raise MemberNotFound(f"member {member_id} does not exist")
    ids = [member_id]
    frontier = [member_id]
    while frontier:
        merged = list(session.scalars(select(Member.id).where(Member.merged_into_id.in_(frontier))))
        frontier = [m for m in merged if m not in ids]
        ids += frontier
    return ids


def _json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _rows(session: Session, table: Table, where: Any) -> list[dict[str, Any]]:
    order = list(table.primary_key.columns)
    result = session.execute(select(table).where(where).order_by(*order))
    return [{k: _json(v) for k, v in row._mapping.items()} for row in result]


def export_member(session: Session, member_id: int, *, now: datetime) -> dict[str, Any]:
    """The export of ``member_id`` (the member that carries on after merges, or any other)."""
    ids = the_person(session, member_id)
    members = Base.metadata.tables["members"]
    tables: dict[str, list[dict[str, Any]]] = {
        "members": _rows(session, members, members.c.id.in_(ids))
    }
    for name, columns in member_columns().items():
        if name == "members":
            continue
        table = Base.metadata.tables[name]
        rows = _rows(session, table, or_(*(table.c[c].in_(ids) for c in columns)))
        if rows:
            tables[name] = rows
    return {
        "format": FORMAT,
        "member_id": member_id,
        "merged": ids[1:],
        "exported_at": now.isoformat(),
        "tables": tables,
    }
