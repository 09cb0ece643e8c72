"""Import members from CSV.

Columns (all optional but at least one identity per row, and the file must have a column for
one of them; a column of another name is named in a warning and not read): ``email``, ``phone``,
``card_number``, ``external_id`` (the identities), ``first_name``, ``last_name``,
``birth_date`` (YYYY-MM-DD), ``locale`` (``sv``, ``sv-SE``), ``enrolled_at`` (ISO 8601),
``channel`` (default ``import``), ``consent_email``/``consent_sms``/``consent_push`` and
``consent_ads`` (being matched in advertising audiences) (yes/no, empty leaves it
unanswered). Dates and times must lie in 1900-2999 (``lojal.inputs``).

A row whose identities already belong to one member is skipped (already there): importing the
same file twice adds nothing. A row whose identities belong to two different members, or that
repeats an identity of an earlier row in the same batch that is new, is rejected. Members are
enrolled through ``lojal.enrolment.enrol`` (so activity that arrived for their
identities before is credited), one transaction per batch, one savepoint per row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lojal import enrolment
from lojal.db.session import transaction
from lojal.errors import LojalError
from lojal.imports.reader import (
    CsvSource,
    Rejects,
    Row,
    RowError,
    Summary,
    boolean,
    parse_when,
    text_or_none,
)
from lojal.inputs import storable_day
from lojal.members.identities import normalise
from lojal.members.models import MemberIdentity
from lojal.members.schemas import MemberCreate
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig

FIELDS = (
    "email",
    "phone",
    "card_number",
    "external_id",
    "first_name",
    "last_name",
    "birth_date",
    "locale",
    "enrolled_at",
    "channel",
    "consent_email",
    "consent_sms",
    "consent_push",
    "consent_ads",
    "store_id",
)
REQUIRED = (("email", "phone", "card_number", "external_id"),)
IDENTITY_KIND = {
    "email": "email",
    "phone": "phone",
    "card_number": "card",
    "external_id": "external_id",
}
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class MemberRow:
    line: int
    data: MemberCreate
    identities: tuple[tuple[str, str], ...]  # normalised (kind, value)


@dataclass
class MemberBatchResult:
    written: int = 0
    skipped: int = 0
    rejected: list[tuple[int, str]] | None = None  # (index, reason)


def parse_row(row: Row, config: ProgramConfig) -> MemberRow:
    data: dict[str, object] = {"channel": row.values.get("channel") or "import"}
    identities: list[tuple[str, str]] = []
    for name, kind in IDENTITY_KIND.items():
        value = row.values.get(name, "")
        if value:
            try:
                value = normalise(kind, value, config.phone_region)
            except LojalError as exc:
                raise RowError(f"{name}: {exc.detail}", field=name) from exc
            identities.append((kind, value))
            data[name] = value
    if not identities:
        raise RowError(
            "email: give at least one of email, phone, card_number, external_id", field="email"
        )
    for name in ("first_name", "last_name", "locale", "store_id"):
        value_or_none = text_or_none(row, name, 100)
        if value_or_none is not None:
            data[name] = value_or_none
    if row.values.get("birth_date"):
        value = row.values["birth_date"]
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise RowError(
                f"birth_date: {value!r} is not a date (YYYY-MM-DD)", field="birth_date"
            ) from exc
        try:
            data["birth_date"] = storable_day(day)
        except ValueError as exc:
            raise RowError(f"birth_date: {value!r} {exc}", field="birth_date") from exc
    if row.values.get("enrolled_at"):
        data["enrolled_at"] = parse_when(row.values["enrolled_at"], "enrolled_at", config.timezone)
    consents = []
    for channel in ("email", "sms", "push", "ads"):
        granted = boolean(row, f"consent_{channel}")
        if granted is not None:
            consents.append({"channel": channel, "granted": granted, "source": "import"})
    data["consents"] = consents
    try:
        create = MemberCreate.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "email"
        raise RowError(f"{where}: {first['msg']}", field=where) from exc
    return MemberRow(row.line, create, tuple(identities))


def import_members(
    session: Session, rows: Sequence[MemberRow], *, now: datetime, region: str
) -> MemberBatchResult:
    """Enrol the members of one batch that are not there yet."""
    result = MemberBatchResult(rejected=[])
    assert result.rejected is not None
    owner: dict[tuple[str, str], int] = {}
    by_kind: dict[str, set[str]] = {}
    for row in rows:
        for kind, value in row.identities:
            by_kind.setdefault(kind, set()).add(value)
    for kind, values in by_kind.items():
        ordered = sorted(values)
        for start in range(0, len(ordered), 900):
            for value, member_id in session.execute(
                select(MemberIdentity.value, MemberIdentity.member_id).where(
                    MemberIdentity.kind == kind,
                    MemberIdentity.value.in_(ordered[start : start + 900]),
                )
            ):
                owner[(kind, value)] = member_id
    taken: set[tuple[str, str]] = set()
    for i, row in enumerate(rows):
        owners = {owner[identity] for identity in row.identities if identity in owner}
        if len(owners) > 1:
            result.rejected.append((i, f"{_field(row, owner)}: belongs to another member"))
            continue
        if owners:
            result.skipped += 1
            continue
        repeated = [identity for identity in row.identities if identity in taken]
        if repeated:
            kind = repeated[0][0]
            result.rejected.append(
                (i, f"{_FIELD[kind]}: {repeated[0][1]!r} is repeated from an earlier row")
            )
            continue
        try:
            with session.begin_nested():
                enrolment.enrol(session, data=row.data, now=now, region=region)
        except LojalError as exc:
            field = getattr(exc, "field", None) or "email"
            result.rejected.append((i, f"{field}: {exc.detail}"))
            continue
        taken.update(row.identities)
        result.written += 1
    return result


_FIELD = {kind: name for name, kind in IDENTITY_KIND.items()}


def _field(row: MemberRow, owner: dict[tuple[str, str], int]) -> str:
    first = next(owner[i] for i in row.identities if i in owner)
    for identity in row.identities:
        if identity in owner and owner[identity] != first:
            return _FIELD[identity[0]]
    return "email"


def run(
    factory: sessionmaker[Session],
    path: Path,
    *,
    now: datetime,
    mapping: dict[str, str] | None = None,
    rejects_path: Path | None = None,
    batch_size: int = 5000,
    progress: Progress | None = None,
    pause: float = 0.0,
    encoding: str = "utf-8",
    warn: Callable[[str], None] | None = None,
) -> Summary:
    source = CsvSource(
        path, mapping=mapping, known=FIELDS, required=REQUIRED, encoding=encoding, warn=warn
    )
    source.open()  # a file that cannot be imported at all is refused before anything
    with transaction(factory, read_only=True) as session:
        config = program_service.current(session)
    if progress:
        progress(0, source.size)
    rejects = Rejects(rejects_path or path.with_name(path.name + ".rejects.csv"))
    summary = Summary()
    batch: list[tuple[Row, MemberRow]] = []

    def flush() -> None:
        if not batch:
            return
        with transaction(factory) as session:
            result = import_members(
                session, [m for _, m in batch], now=now, region=config.phone_region
            )
        summary.written += result.written
        summary.skipped += result.skipped
        for index, reason in result.rejected or []:
            rejects.add(batch[index][0], reason, source.header)
            summary.rejected += 1
        rejects.flush()
        batch.clear()
        if progress:
            progress(source.position, source.size)
        if pause:
            time.sleep(pause)

    try:
        for row in source.rows():
            summary.read += 1
            if row.problem is not None:
                rejects.add(row, row.problem, source.header)
                summary.rejected += 1
                continue
            try:
                batch.append((row, parse_row(row, config)))
            except RowError as exc:
                rejects.add(row, exc.detail, source.header)
                summary.rejected += 1
                continue
            if len(batch) >= batch_size:
                flush()
        flush()
    finally:
        rejects.close()
    summary.undecodable = source.undecodable
    return summary
