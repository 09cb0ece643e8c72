"""The fraud guards in the transaction, through the API on SQLite and PostgreSQL: spend limits
(429 naming the limit, with Retry-After), the hold after an email or phone change (409 naming
when it ends, for spends and redemptions), earn limits that record the purchase and hold its
points for review, and the alerts raised at once — a large adjustment, a back-dated purchase,
many enrolments from one address."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.db.driver import Driver
from lojal.fraud import guards as fraud_guards
from lojal.fraud.models import FraudAlert
from lojal.fraud.schemas import FraudConfig, Velocity
from lojal.ledger import service as ledger
from lojal.ledger.models import PointLot
from lojal.members.models import Member
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from tests.conftest import DEFAULT_PROGRAM, START, Api
from tests.factories import line, make_member, purchase_payload, unique


def _club(api: Api, **fraud: Any) -> None:
    r = api.put("/program", {**DEFAULT_PROGRAM, "pending_days": 0, "fraud": fraud})
    assert r.status_code == 200, r.text


def _member(api: Api, points: int = 0) -> int:
    member_id: int = api.post("/members", {"email": f"{unique('f')}@example.se"}).json()["id"]
    if points:
        r = api.post(f"/members/{member_id}/points/adjust", {"points": points, "reason": "start"})
        assert r.status_code == 200, r.text
    return member_id


def _spend(api: Api, member_id: int, points: int = 10) -> Any:
    return api.post(
        f"/members/{member_id}/points/spend", {"points": points, "reference": unique("s")}
    )


def _alerts(api: Api, **params: Any) -> list[dict[str, Any]]:
    r = api.get("/fraud/alerts", params=params)
    assert r.status_code == 200, r.text
    alerts: list[dict[str, Any]] = r.json()["alerts"]
    return alerts


def test_a_spend_over_the_hourly_count_is_refused_naming_the_limit(
    api: Api, clock: FixedClock
) -> None:
    _club(api, spend_limits={"per_hour": {"count": 2}})
    member_id = _member(api, 1000)
    assert _spend(api, member_id).status_code == 200
    clock.advance(timedelta(minutes=10))
    assert _spend(api, member_id).status_code == 200
    refused = _spend(api, member_id)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "SpendLimitReached"
    assert "fraud.spend_limits.per_hour.count: at most 2 an hour" in refused.json()["detail"]
    # the first spend leaves the window in 50 minutes
    assert 2999 <= int(refused.headers["Retry-After"]) <= 3001
    assert api.get(f"/members/{member_id}/points").json()["available"] == 980
    clock.advance(timedelta(minutes=51))
    assert _spend(api, member_id).status_code == 200


def test_a_spend_over_the_daily_points_is_refused(api: Api, clock: FixedClock) -> None:
    _club(api, spend_limits={"per_day": {"points": 500}})
    member_id = _member(api, 2000)
    assert _spend(api, member_id, 400).status_code == 200
    clock.advance(timedelta(hours=5))
    refused = _spend(api, member_id, 101)
    assert refused.status_code == 429, refused.text
    assert "fraud.spend_limits.per_day.points: at most 500 points a day" in refused.text
    assert _spend(api, member_id, 100).status_code == 200
    clock.advance(timedelta(hours=19, minutes=1))  # the 400 has left the day
    assert _spend(api, member_id, 400).status_code == 200


def test_without_limits_spending_is_not_counted(api: Api, session: Session) -> None:
    """The spend path reads nothing for the guards when no limit is set (and nothing for the
    hold: the member row is loaded already); with a limit, one query per spend."""
    member_id = _member(api, 1000)
    config = program_service.current(session)
    assert not config.fraud.spend_limits.configured
    limited = config.model_copy(
        update={
            "fraud": config.fraud.model_copy(
                update={"spend_limits": Velocity.model_validate({"per_day": {"count": 99}})}
            )
        }
    )

    def window_reads(config: ProgramConfig) -> int:
        statements: list[str] = []

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement.lower())

        connection = session.connection()
        event.listen(connection, "before_cursor_execute", seen)
        try:
            for _ in range(3):
                ledger.spend(
                    session,
                    member_id=member_id,
                    points=10,
                    key=f"spend:test:{unique('k')}",
                    now=START,
                    config=config,
                )
        finally:
            event.remove(connection, "before_cursor_execute", seen)
        return len([s for s in statements if "min(journal_entries.recorded_at)" in s])

    assert window_reads(config) == 0
    assert window_reads(limited) == 3
    session.rollback()


def test_spending_waits_after_a_change_of_email_but_not_of_name(
    api: Api, clock: FixedClock
) -> None:
    _club(api, identity_hold_hours=24)
    member_id = _member(api, 1000)
    assert _spend(api, member_id).status_code == 200  # enrolling is no change
    assert api.patch(f"/members/{member_id}", {"first_name": "Eve"}).status_code == 200
    assert _spend(api, member_id).status_code == 200
    changed = api.patch(f"/members/{member_id}", {"email": f"{unique('new')}@example.se"})
    assert changed.status_code == 200, changed.text
    clock.advance(timedelta(hours=2))
    refused = _spend(api, member_id)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "SpendingOnHold"
    assert "on hold until 2026-03-03 09:00 UTC" in refused.json()["detail"]
    reward = api.post(
        "/rewards",
        {
            "code": unique("rw"),
            "name": "Coffee",
            "kind": "coupon",
            "points_price": 100,
            "coupon": {"discount_kind": "amount", "amount_minor": 1000},
        },
    ).json()["id"]
    redeem = api.post(f"/members/{member_id}/rewards/{reward}/redeem", {"reference": "r1"})
    assert redeem.status_code == 409, redeem.text
    assert redeem.json()["error"] == "SpendingOnHold"
    clock.advance(timedelta(hours=22))
    assert _spend(api, member_id).status_code == 200
    assert (
        api.post(f"/members/{member_id}/rewards/{reward}/redeem", {"reference": "r1"}).status_code
        == 201
    )


def test_a_new_phone_holds_spending_too(api: Api, clock: FixedClock) -> None:
    _club(api, identity_hold_hours=1)
    member_id = _member(api, 1000)
    assert api.patch(f"/members/{member_id}", {"phone": "+46701234567"}).status_code == 200
    assert _spend(api, member_id).status_code == 409
    clock.advance(timedelta(hours=1))
    assert _spend(api, member_id).status_code == 200


def test_a_purchase_over_an_earn_limit_is_recorded_and_its_points_held(
    api: Api, session: Session, clock: FixedClock
) -> None:
    _club(api, earn_limits={"per_hour": {"count": 2}}, earn_review_days=30)
    member_id = _member(api)
    orders = [unique("o") for _ in range(3)]
    for order in orders:
        r = api.post("/purchases", purchase_payload(order, member_id=member_id))
        assert r.status_code == 201, r.text
        assert r.json()["points"] == 100
    points = api.get(f"/members/{member_id}/points").json()
    assert (points["available"], points["pending"]) == (200, 100)
    [alert] = _alerts(api, member_id=member_id, kind="earn_velocity")
    assert alert["details"]["order_id"] == orders[2]
    assert alert["details"]["limit"] == "fraud.earn_limits.per_hour.count: at most 2 an hour"
    session.expire_all()
    lot = session.scalar(select(PointLot).where(PointLot.source == f"purchase:{orders[2]}"))
    assert lot is not None
    assert lot.available_at == clock.now() + timedelta(days=30)
    # staff release the points: available at their usual time (at once: no pending days)
    done = api.post(f"/fraud/alerts/{alert['id']}/acknowledge", {"release": True})
    assert done.status_code == 200, done.text
    assert done.json()["acknowledged_by"].endswith("test-admin")
    assert done.json()["details"]["released"] is True
    assert api.get(f"/members/{member_id}/points").json()["available"] == 300
    assert _alerts(api, member_id=member_id) == []
    assert len(_alerts(api, member_id=member_id, include_acknowledged=True)) == 1
    # a purchase an hour later is in the limit again
    clock.advance(timedelta(hours=1, minutes=1))
    api.post("/purchases", purchase_payload(member_id=member_id))
    assert api.get(f"/members/{member_id}/points").json()["pending"] == 0


def test_the_daily_earn_points_limit_counts_what_was_earned_before(api: Api) -> None:
    _club(api, earn_limits={"per_day": {"points": 250}})
    member_id = _member(api)
    big = purchase_payload(member_id=member_id, lines=[line(unit_price_minor=20_000)])
    assert api.post("/purchases", big).json()["points"] == 200
    assert api.post("/purchases", purchase_payload(member_id=member_id)).status_code == 201
    assert api.get(f"/members/{member_id}/points").json()["pending"] == 100
    [alert] = _alerts(api, member_id=member_id)
    assert alert["details"]["limit"].startswith("fraud.earn_limits.per_day.points")


def test_a_large_adjustment_raises_an_alert_and_a_small_one_does_not(api: Api) -> None:
    _club(api, alerts={"adjustment_points": 5000})
    member_id = _member(api, 100)
    r = api.post(f"/members/{member_id}/points/adjust", {"points": 5000, "reason": "friend"})
    assert r.status_code == 200, r.text
    r = api.post(f"/members/{member_id}/points/adjust", {"points": -5000, "reason": "undo"})
    assert r.status_code == 200, r.text
    alerts = _alerts(api, member_id=member_id)
    assert [(a["kind"], a["details"]["points"]) for a in alerts] == [
        ("large_adjustment", -5000),
        ("large_adjustment", 5000),
    ]
    assert alerts[0]["details"]["by"].endswith("test-admin")


def test_a_purchase_dated_far_back_raises_an_alert(api: Api, clock: FixedClock) -> None:
    _club(api, alerts={"backdated_days": 30})
    member_id = _member(api)
    old = (clock.now() - timedelta(days=45)).isoformat()
    recent = (clock.now() - timedelta(days=2)).isoformat()
    for at in (old, recent):
        r = api.post("/purchases", purchase_payload(member_id=member_id, occurred_at=at))
        assert r.status_code == 201, r.text
    [alert] = _alerts(api, member_id=member_id)
    assert alert["kind"] == "backdated_purchase"
    assert alert["details"]["days"] == 45


def test_many_enrolments_from_one_address_raise_one_alert(api: Api, session: Session) -> None:
    _club(api, alerts={"enrolments_per_address": 3})
    before = len(_alerts(api, kind="enrolments_per_address"))
    ids = [_member(api) for _ in range(4)]
    session.expire_all()
    member = session.get(Member, ids[0])
    assert member is not None
    assert member.enrolment_address == "testclient"  # the address the API saw
    alerts = _alerts(api, kind="enrolments_per_address")
    assert len(alerts) == before + 1
    assert alerts[0]["details"]["address"] == "testclient"
    assert alerts[0]["member_id"] == ids[2]


@pytest.mark.parametrize(
    ("fraud", "field"),
    [
        ({"spend_limits": {"per_hour": {"count": 0}}}, "count"),
        ({"identity_hold_hours": -1}, "identity_hold_hours"),
        ({"alerts": {"adjustment_points": "many"}}, "adjustment_points"),
        ({"earn_limits": {"per_week": {}}}, "per_week"),
    ],
)
def test_bad_fraud_settings_are_refused_naming_the_field(
    api: Api, fraud: dict[str, Any], field: str
) -> None:
    r = api.put("/program", {**DEFAULT_PROGRAM, "fraud": fraud})
    assert r.status_code == 422, r.text
    assert field in r.text


def test_the_alerts_are_for_admin_keys_only(api: Api) -> None:
    assert api.get("/fraud/alerts", scope="pos").status_code == 403
    assert api.get("/fraud/alerts", scope="integration").status_code == 403
    assert api.post("/fraud/alerts/1/acknowledge", {}, scope="pos").status_code == 403
    assert api.post("/fraud/alerts/987654/acknowledge", {}).status_code == 404


def test_only_an_earn_alert_has_points_to_release(api: Api, session: Session) -> None:
    member = make_member(session, FixedClock(START))
    session.add(
        FraudAlert(
            key=unique("k"),
            kind="referral_ring",
            member_id=member.id,
            details={},
            created_at=START,
        )
    )
    session.commit()
    alert = _alerts(api, member_id=member.id)[0]
    r = api.post(f"/fraud/alerts/{alert['id']}/acknowledge", {"release": True})
    assert r.status_code == 422, r.text
    assert "release" in r.text


class _NoDatabase:
    """A driver that fails on any use: what must not touch the database."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used ({name})")


def test_without_earn_limits_a_batch_of_purchases_reads_nothing_for_them() -> None:
    db = cast(Driver, _NoDatabase())
    assert fraud_guards.earn_window(db, FraudConfig(), [1, 2, 3], START) is None
    limited = FraudConfig.model_validate({"earn_limits": {"per_day": {"count": 3}}})
    with pytest.raises(AssertionError, match="the database was used"):
        fraud_guards.earn_window(db, limited, [1, 2, 3], START)
