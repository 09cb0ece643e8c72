"""``Idempotency-Key`` on every write.

* same key, same request (method, path, query, body) → the first response again (status and
  body, with the header ``Idempotent-Replayed: true``);
* same key, a different request → 422 ``IdempotencyKeyReused``.

Keys are scoped to the API key that sent them. The record is written in the same transaction
as the work it guards (``lojal.web.writer``): it exists exactly when the work committed, so a
crash can never leave a key that claims work which was lost, nor work without its key. A
second request with a key that is still being worked on waits for the first to commit and is
then answered with its response (PostgreSQL: the unique index makes it wait; SQLite: writes
are serialised). Answers of 5xx are not kept, so the client can retry them. Records are
forgotten after ``LOJAL_IDEMPOTENCY_TTL_HOURS`` (by ``lojal jobs run``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from lojal.db.driver import Driver
from lojal.errors import Conflict, IdempotencyKeyReused, Invalid
from lojal.web.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


class IdempotencyKeyInvalid(Invalid):
    pass


class IdempotencyKeyInFlight(Conflict):
    pass


@dataclass(frozen=True, slots=True)
class Claim:
    """A write request's key and the fingerprint of the request it was first used with."""

    caller: str
    key: str
    method: str
    path: str
    digest: str

    @classmethod
    def of(
        cls, *, caller: str, key: str, method: str, path: str, query: bytes, body: bytes
    ) -> Claim:
        digest = hashlib.sha256(
            b"\n".join([method.encode(), path.encode(), query, body])
        ).hexdigest()
        return cls(caller, key, method, path[:500], digest)


def lookup(session: Session, claim: Claim) -> tuple[int, bytes] | None:
    """The stored (status, body) for this key, None if the key is new. Raises
    ``IdempotencyKeyReused`` when the key was used with another request."""
    db = Driver.of(session, flush=False)
    row = db.one(
        "SELECT request_hash, status_code, response_body FROM idempotency_records "
        "WHERE caller = ? AND idempotency_key = ?",
        (claim.caller, claim.key),
    )
    if row is None:
        return None
    if row[0] != claim.digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request", field="Idempotency-Key"
        )
    if row[1] is None:  # taken by a job of the same transaction that has not answered yet
        raise IdempotencyKeyInFlight("a request with this Idempotency-Key is still being processed")
    return int(row[1]), bytes(row[2])


def claim(session: Session, claim: Claim, now: datetime) -> None:
    """Take the key for this transaction (a concurrent holder makes this wait, then fail)."""
    db = Driver.of(session, flush=False)
    db.execute(
        "INSERT INTO idempotency_records (caller, idempotency_key, method, path, request_hash, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (claim.caller, claim.key, claim.method, claim.path, claim.digest, db.time(now)),
    ).close()


def finish(session: Session, claim: Claim, status: int, body: bytes) -> None:
    """Keep the answer for the key; an answer of 5xx is not kept (the client may retry)."""
    db = Driver.of(session, flush=False)
    if status >= 500:
        db.execute(
            "DELETE FROM idempotency_records WHERE caller = ? AND idempotency_key = ?",
            (claim.caller, claim.key),
        ).close()
        return
    db.execute(
        "UPDATE idempotency_records SET status_code = ?, response_body = ? "
        "WHERE caller = ? AND idempotency_key = ?",
        (status, body, claim.caller, claim.key),
    ).close()


def purge(session: Session, *, older_than: Any) -> int:
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < older_than)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
