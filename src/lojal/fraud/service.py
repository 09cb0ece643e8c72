"""Staff acknowledge an alert: who looked at it and when; for points held over an earn limit,
whether they are released (available at their usual time). Refusing them is a return of the
purchase (its points are taken back), as for any purchase that should not have earned."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from lojal.audit.capture import actor_of
from lojal.errors import Invalid
from lojal.fraud.errors import AlertNotFound
from lojal.fraud.models import FraudAlert
from lojal.fraud.schemas import Acknowledge, AlertRead
from lojal.ledger import service as ledger


def acknowledge(session: Session, *, alert_id: int, body: Acknowledge, now: datetime) -> AlertRead:
    alert = session.get(FraudAlert, alert_id, with_for_update=True)
    if alert is None:
        raise AlertNotFound(f"alert {alert_id} does not exist")
    if body.release and alert.kind != "earn_velocity":
        raise Invalid("only an earn_velocity alert holds points to release", field="release")
    if alert.acknowledged_at is None:
        details = dict(alert.details)
        if body.release and alert.member_id is not None:
            released = ledger.release_held(
                session,
                member_id=alert.member_id,
                source=f"purchase:{details['order_id']}",
                available_at=datetime.fromisoformat(details["available_at"]),
                now=now,
            )
            details["released"] = released
        if body.note:
            details["note"] = body.note
        alert.details = details
        alert.acknowledged_at = now
        alert.acknowledged_by = actor_of(session)
        session.flush()
    return AlertRead.model_validate(alert, from_attributes=True)
