"""Segments' use cases: save a definition (and fill the segment at once), change it, delete
it, import a static list, sweep. Entries and exits are recorded as ``segment_entered`` /
``segment_left`` events and passed to the dispatcher, so automations react to them."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.activities.events import EventRecorded
from lojal.errors import LojalError
from lojal.members.identities import normalise
from lojal.members.models import Member, MemberIdentity
from lojal.segments import membership, queries
from lojal.segments.definition import Definition, dump_definition, reads
from lojal.segments.errors import InvalidSegment, NotAStaticList, SegmentCodeTaken
from lojal.segments.models import Segment, SegmentMembership
from lojal.segments.schemas import SegmentCreate, SegmentUpdate

MAX_REFUSALS_SHOWN = 20
# The columns of a list file, in the order a row's identity is taken from.
LIST_COLUMNS = {
    "email": "email",
    "card": "card",
    "card_number": "card",
    "phone": "phone",
    "customer_id": "external_id",
    "external_id": "external_id",
    "member_id": "member_id",
}


def _dispatch(session: Session, caused: Sequence[EventRecorded], now: datetime) -> None:
    if caused:
        reactions.after_events(session, caused, now)


def create(session: Session, *, data: SegmentCreate, now: datetime) -> Segment:
    """Save a segment; a dynamic one is filled at once (its members enter now)."""
    if session.scalar(select(Segment.id).where(Segment.code == data.code)) is not None:
        raise SegmentCodeTaken(f"a segment with code {data.code!r} exists", field="code")
    segment = Segment(
        code=data.code,
        name=data.name,
        description=data.description,
        kind=data.kind,
        definition=dump_definition(data.definition) if data.definition is not None else None,
        reads=reads(data.definition) if data.definition is not None else [],
        revision=1,
        evaluated_at=now if data.definition is not None else None,
        created_at=now,
        updated_at=now,
    )
    session.add(segment)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create of the same code
        raise SegmentCodeTaken(f"a segment with code {data.code!r} exists", field="code") from exc
    if segment.kind == "dynamic":
        _dispatch(session, membership.refresh(session, segment, now=now), now)
    return segment


def update(session: Session, *, segment: int | str, data: SegmentUpdate, now: datetime) -> Segment:
    """Change a segment's name, description or definition (re-evaluated at once)."""
    found = queries.get(session, segment)
    if data.name is not None:
        found.name = data.name
    if "description" in data.model_fields_set:
        found.description = data.description
    if data.definition is not None:
        if found.kind != "dynamic":
            raise NotAStaticList("a static list has no definition", field="definition")
        found.definition = dump_definition(data.definition)
        found.reads = reads(data.definition)
        found.revision += 1
        found.evaluated_at = now
    found.updated_at = now
    session.flush()
    if data.definition is not None:
        _dispatch(session, membership.refresh(session, found, now=now), now)
    return found


def delete_segment(session: Session, *, segment: int | str) -> None:
    """Delete a segment and its membership history (no events: the segment is gone)."""
    found = queries.get(session, segment)
    session.execute(delete(SegmentMembership).where(SegmentMembership.segment_id == found.id))
    session.delete(found)
    session.flush()


def definition(segment: Segment) -> Definition | None:
    return membership.definition_of(segment) if segment.definition is not None else None


# ---------------------------------------------------------------- static lists


@dataclass(frozen=True, slots=True)
class ListRow:
    line: int
    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class Imported:
    rows: int
    added: int
    removed: int
    already: int
    size: int


def parse_list(text: str) -> list[ListRow]:
    """The rows of a list file (CSV with a header); a file with no usable column, or a row
    with no identity, is refused with its line number."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidSegment("the file is empty", field="csv") from None
    columns = [
        (i, LIST_COLUMNS[name.strip().lower()])
        for i, name in enumerate(header)
        if name.strip().lower() in LIST_COLUMNS
    ]
    if not columns:
        raise InvalidSegment(
            "line 1: the header names none of " + ", ".join(LIST_COLUMNS), field="csv"
        )
    out: list[ListRow] = []
    refusals: list[str] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        for i, kind in columns:
            if i < len(row) and row[i].strip():
                out.append(ListRow(line, kind, row[i].strip()))
                break
        else:
            refusals.append(f"line {line}: no identity")
    if refusals:
        raise _refused(refusals)
    return out


def _refused(refusals: list[str]) -> InvalidSegment:
    shown = "; ".join(refusals[:MAX_REFUSALS_SHOWN])
    more = len(refusals) - MAX_REFUSALS_SHOWN
    detail = f"{len(refusals)} rows refused, nothing imported: {shown}"
    if more > 0:
        detail += f"; and {more} more"
    return InvalidSegment(detail, field="csv", refusals=refusals)


def _resolve(session: Session, rows: Sequence[ListRow], region: str) -> tuple[set[int], list[str]]:
    refusals: list[str] = []
    wanted: dict[tuple[str, str], list[int]] = {}
    ids: dict[int, list[int]] = {}
    for row in rows:
        if row.kind == "member_id":
            if not row.value.isdigit():
                refusals.append(f"line {row.line}: member_id {row.value!r} is not a number")
            else:
                ids.setdefault(int(row.value), []).append(row.line)
            continue
        try:
            value = normalise(row.kind, row.value, region)
        except LojalError as exc:
            refusals.append(f"line {row.line}: {exc.detail}")
            continue
        wanted.setdefault((row.kind, value), []).append(row.line)
    found: set[int] = set()
    by_kind: dict[str, list[str]] = {}
    for kind, value in wanted:
        by_kind.setdefault(kind, []).append(value)
    owners: dict[tuple[str, str], int] = {}
    for kind, values in by_kind.items():
        for start in range(0, len(values), 5000):
            chunk = values[start : start + 5000]
            for owner, value in session.execute(
                select(MemberIdentity.member_id, MemberIdentity.value).where(
                    MemberIdentity.kind == kind, MemberIdentity.value.in_(chunk)
                )
            ):
                owners[(kind, value)] = owner
    active = set()
    candidate_ids = set(owners.values()) | set(ids)
    listed = sorted(candidate_ids)
    for start in range(0, len(listed), 5000):
        active |= set(
            session.scalars(
                select(Member.id).where(
                    Member.id.in_(listed[start : start + 5000]), Member.status == "active"
                )
            )
        )
    for key, lines in wanted.items():
        holder = owners.get(key)
        if holder is None or holder not in active:
            refusals.extend(
                f"line {line}: no active member with {key[0]} {key[1]}" for line in lines
            )
        else:
            found.add(holder)
    for member_id, lines in ids.items():
        if member_id not in active:
            refusals.extend(f"line {line}: no active member {member_id}" for line in lines)
        else:
            found.add(member_id)
    return found, sorted(refusals, key=lambda r: int(r.split(":")[0].split()[1]))


def import_list(
    session: Session,
    *,
    segment: int | str,
    text: str,
    now: datetime,
    replace: bool = False,
    region: str = "SE",
) -> Imported:
    """Add the members a file names to a static list (``replace``: make the list exactly
    them). Every row must name an active member; otherwise nothing is written and the error
    lists the refused lines."""
    found = queries.get(session, segment)
    if found.kind != "static":
        raise NotAStaticList(f"segment {found.code!r} is dynamic: its definition decides")
    rows = parse_list(text)
    members, refusals = _resolve(session, rows, region)
    if refusals:
        raise _refused(refusals)
    current = set(queries.current_ids(session, found.id))
    should = members if replace else current | members
    caused = membership.set_members(session, found, should, now=now)
    _dispatch(session, caused, now)
    added = len(should - current)
    removed = len(current - should)
    return Imported(
        rows=len(rows),
        added=added,
        removed=removed,
        already=len(members & current),
        size=len(should),
    )
