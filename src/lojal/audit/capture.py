"""The audit trail: who changed what, when, with the values before and after.

Every change the ORM flushes to an audited table (members and their identities and consents,
the programme, rewards, coupon campaigns and batches, challenges, badges, paid plans and
memberships, API keys, staff accounts) is written to ``audit_log`` in the same flush — so in
the same transaction as the change, whichever entry point made it (an API request, a command,
a job).
Changes made on the driver or by a bulk statement are recorded by the feature that makes them
(``record``): staff point adjustments, tier decisions, erasure.

Who: ``session.info["actor"]`` — the writer sets it to the API key of each request
(``key:<id> <name>``), the CLI to ``cli:<user>``; anything else is ``system`` (jobs, reactions).

Secrets never enter the log (an API key's hash), and erasure redacts a person's records
(``redact``): their values go, the fact that something changed stays.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect, null, update
from sqlalchemy.orm import Session, UOWTransaction

from lojal.audit.models import AuditRecord
from lojal.clock import SystemClock

SYSTEM = "system"
# The columns never copied into the log, per table.
SECRET = {
    "api_keys": frozenset({"secret_hash", "previous_secret_hash"}),
    "staff_users": frozenset({"password_hash"}),
}
# The audited tables: their rows' changes are recorded on every flush.
AUDITED = frozenset(
    {
        "members",
        "member_identities",
        "consents",
        "programs",
        "rewards",
        "coupon_campaigns",
        "coupon_batches",
        "challenges",
        "badges",
        "membership_plans",
        "memberships",
        "api_keys",
        "staff_users",
    }
)
# Columns that change on every write and say nothing a reader of the log needs.
_NOISE = frozenset({"updated_at"})


def actor_of(session: Session) -> str:
    return str(session.info.get("actor") or SYSTEM)


def _json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def _member_of(table: str, values: Mapping[str, Any]) -> int | None:
    member = values.get("id") if table == "members" else values.get("member_id")
    return member if isinstance(member, int) else None


def _columns(obj: Any) -> Iterable[tuple[str, str]]:
    """(attribute key, column name) of the object's mapped columns."""
    for prop in inspect(obj).mapper.column_attrs:
        yield prop.key, prop.columns[0].name


def _row(obj: Any, table: str) -> dict[str, Any]:
    hidden = SECRET.get(table, frozenset())
    return {name: _json(getattr(obj, key)) for key, name in _columns(obj) if name not in hidden}


def _changes(obj: Any, table: str) -> tuple[dict[str, Any], dict[str, Any]]:
    hidden = SECRET.get(table, frozenset())
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key, name in _columns(obj):
        if name in _NOISE:
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        if name in hidden:
            before[name], after[name] = "(hidden)", "(changed)"
        else:
            before[name], after[name] = _json(old), _json(new)
    return before, after


def _entity_id(obj: Any) -> str | None:
    # the primary key as flushed (a new row's identity is only registered after the flush)
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    if not key or any(part is None for part in key):
        return None
    return ",".join(str(part) for part in key)


def _after_flush(session: Session, flush: UOWTransaction) -> None:
    rows: list[dict[str, Any]] = []
    actor = actor_of(session)
    now = session.info.get("now")
    for action, objects in (
        ("created", session.new),
        ("changed", session.dirty),
        ("deleted", session.deleted),
    ):
        for obj in objects:
            table = getattr(obj, "__tablename__", None)
            if table not in AUDITED:
                continue
            if action == "created":
                before, after = None, _row(obj, table)
                member = _member_of(table, after)
            elif action == "deleted":
                before, after = _row(obj, table), None
                member = _member_of(table, before)
            else:
                changed_before, changed_after = _changes(obj, table)
                if not changed_after:
                    continue
                before, after = changed_before, changed_after
                member = _member_of(table, _row(obj, table))
            rows.append(
                {
                    "at": now or _time_of(obj),
                    "actor": actor,
                    "action": action,
                    "entity": table,
                    "entity_id": _entity_id(obj),
                    "about_member_id": member,
                    "before": before,
                    "after": after,
                }
            )
    if rows:
        session.connection().execute(insert(AuditRecord), rows)


def _time_of(obj: Any) -> datetime:
    for name in ("updated_at", "recorded_at", "created_at", "revoked_at", "enrolled_at"):
        value = getattr(obj, name, None)
        if isinstance(value, datetime):
            return value
    return SystemClock().now()


def install() -> None:
    """Record the audited tables' changes on every session's flush (once per process)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def record(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: object,
    now: datetime,
    about_member_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    """Record a change made outside the ORM's unit of work (on the driver, in bulk).
    ``actor``: who, when the caller knows better than the session (a staff user of the
    pages); by default the session's actor."""
    record_many(
        session,
        [
            Change(
                action=action,
                entity=entity,
                entity_id=entity_id,
                about_member_id=about_member_id,
                before=before,
                after=after,
                actor=actor,
            )
        ],
        now=now,
    )


@dataclass(frozen=True, slots=True)
class Change:
    """One change for ``record_many``."""

    action: str
    entity: str
    entity_id: object
    about_member_id: int | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    actor: str | None = None


def record_many(session: Session, changes: Sequence[Change], *, now: datetime) -> None:
    """Record many changes made outside the ORM in one statement (a batch of tier decisions)."""
    if not changes:
        return
    default = actor_of(session)
    session.execute(
        insert(AuditRecord),
        [
            {
                "at": now,
                "actor": c.actor or default,
                "action": c.action,
                "entity": c.entity,
                "entity_id": None if c.entity_id is None else str(c.entity_id),
                "about_member_id": c.about_member_id,
                "before": None if c.before is None else _json(c.before),
                "after": None if c.after is None else _json(c.after),
            }
            for c in changes
        ],
    )


def redact(session: Session, member_ids: Sequence[int], now: datetime) -> int:
    """Empty the values of every record about these members (erasure); the records stay."""
    if not member_ids:
        return 0
    done = session.scalars(
        update(AuditRecord)
        .where(AuditRecord.about_member_id.in_(member_ids), AuditRecord.redacted_at.is_(None))
        .values(before=null(), after=null(), redacted_at=now)  # SQL NULL, not JSON null
        .returning(AuditRecord.id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(done)
