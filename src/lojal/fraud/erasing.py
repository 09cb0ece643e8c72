"""What erasing a person does to the alerts about them (see ``lojal.privacy.erasure``): the
alert stays (that something was seen, and what staff did), its details — a client address,
an order id — are emptied."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.orm import Session

from lojal.fraud.models import FraudAlert

TABLES = {"fraud_alerts": "kept: the alert and who acknowledged it; its details are emptied"}


def erase_personal(session: Session, member_ids: Sequence[int]) -> dict[str, int]:
    done = session.scalars(
        update(FraudAlert)
        .where(FraudAlert.member_id.in_(member_ids))
        .values(details={"erased": True})
        .returning(FraudAlert.id)
        .execution_options(synchronize_session=False)
    ).all()
    return {"fraud_alerts": len(done)}
