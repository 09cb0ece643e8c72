"""Every table that refers to a member says what a merge does to it (no database needed)."""

from __future__ import annotations

from lojal.db.models import Base
from lojal.members import merging

WHAT = {"moved", "combined", "kept"}


def _member_scoped() -> set[str]:
    """The tables with a column that refers to ``members.id`` (``member_id``, an advocate, a
    referee, ...), the members table itself aside."""
    return {
        table.name
        for table in Base.metadata.tables.values()
        if table.name != "members"
        and any(fk.column.table.name == "members" for fk in table.foreign_keys)
    }


def test_every_member_scoped_table_is_covered_by_the_merge() -> None:
    covered = merging.covered_tables()
    missing = _member_scoped() - set(covered)
    assert not missing, f"say in a merge step what a merge does to: {sorted(missing)}"
    assert set(covered) <= set(Base.metadata.tables), "a merge step names a table that is gone"
    assert set(covered.values()) <= WHAT


def test_every_table_with_a_member_id_column_is_among_them() -> None:
    with_column = {t.name for t in Base.metadata.tables.values() if "member_id" in t.columns}
    assert with_column <= _member_scoped()
