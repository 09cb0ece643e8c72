"""A member's paid membership: a payment starts it, the next renews it, cancelling ends it at
the end of what was paid, and an unrenewed one lapses in ``lojal jobs run`` — its benefits end
and the tier falls back to what the member qualifies for. Payments are recorded once, as
revenue, however often the shop sends them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.activities.models import Event
from lojal.clock import FixedClock
from lojal.jobs.service import run_due
from lojal.memberships.models import RevenueRecord
from tests.conftest import START, Api
from tests.factories import purchase_payload, unique
from tests.memberships.test_plans import GOLD_PLAN
from tests.tiers.club import SILVER, amount, tiers

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SILVER_PLAN = {**GOLD_PLAN, "code": "silver-monthly", "tier": "silver", "interval": "month"}


@pytest.fixture
def club(api: Api) -> Api:
    program = api.get("/program").json()["config"]
    assert api.put("/program", {**program, "tiers": tiers()}).status_code == 200
    for plan in (GOLD_PLAN, SILVER_PLAN):
        assert api.post("/membership-plans", plan).status_code == 201
    return api


def enrol(api: Api) -> int:
    member_id: int = api.post("/members", {"email": f"{unique('payer')}@example.se"}).json()["id"]
    return member_id


def pay(api: Api, member_id: int, reference: str, plan: str = "gold-annual", **kw: Any) -> Any:
    idempotency_key = kw.pop("idempotency_key", None)
    body = {
        "plan": plan,
        "reference": reference,
        "amount_minor": 49_900,
        "currency": "SEK",
        **kw,
    }
    return api.post(
        f"/members/{member_id}/membership/payments",
        body,
        scope="integration",
        idempotency_key=idempotency_key,
    )


def tier(api: Api, member_id: int) -> str | None:
    body = api.get(f"/members/{member_id}/tier", scope="web").json()
    return body["tier"]["code"] if body["tier"] else None


def history(api: Api, member_id: int) -> list[tuple[str, str, str]]:
    changes = api.get(f"/members/{member_id}/tier/history").json()["changes"]
    return [(c["from_tier"], c["to_tier"], c["reason"]) for c in reversed(changes)]


def jobs(session_factory: sessionmaker[Session], clock: FixedClock, at: datetime) -> Any:
    clock.at = at
    return run_due(session_factory, clock=clock)


def local(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, tzinfo=STOCKHOLM).astimezone(UTC)


def test_a_payment_starts_a_membership_with_its_tier_and_its_revenue(
    club: Api, session: Session
) -> None:
    m = enrol(club)
    r = pay(club, m, "shop-1001")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["membership"]["status"] == "active"
    assert body["membership"]["plan"]["code"] == "gold-annual"
    assert body["membership"]["renews_at"].startswith("2027-03-02T09:00")
    assert body["payment"] | {"id": None} == {
        "id": None,
        "kind": "membership_fee",
        "reference": "shop-1001",
        "member_id": m,
        "plan": "gold-annual",
        "amount_minor": 49_900,
        "currency": "SEK",
        "paid_at": body["payment"]["paid_at"],
        "period_start": body["payment"]["paid_at"],
        "period_end": body["membership"]["renews_at"],
    }
    assert body["payment"]["paid_at"].startswith("2026-03-02T09:00")
    [revenue] = session.scalars(select(RevenueRecord))
    assert (revenue.kind, revenue.amount_minor, revenue.currency, revenue.member_id) == (
        "membership_fee",
        49_900,
        "SEK",
        m,
    )
    assert revenue.occurred_at == START
    # The paid tier is the member's tier now.
    assert tier(club, m) == "gold"
    assert history(club, m)[-1] == ("bronze", "gold", "paid_membership")
    progress = club.get(f"/members/{m}/tier").json()
    assert progress["paid"]["tier"]["code"] == "gold"
    assert progress["qualified_tier"]["code"] == "bronze"
    started = session.scalars(select(Event).where(Event.type == "membership_started")).one()
    assert started.properties["plan"] == "gold-annual"


def test_the_same_payment_is_recorded_once(club: Api, session: Session) -> None:
    m = enrol(club)
    first = pay(club, m, "shop-2002")
    again = pay(club, m, "shop-2002")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert session.scalar(select(func.count()).select_from(RevenueRecord)) == 1
    reused = pay(club, m, "shop-2002", amount_minor=1)
    assert reused.status_code == 409
    assert (reused.json()["error"], reused.json()["field"]) == (
        "PaymentReferenceReused",
        "reference",
    )
    other = enrol(club)
    assert pay(club, other, "shop-2002").status_code == 409


def test_an_idempotency_key_replays_the_first_answer(club: Api, session: Session) -> None:
    m = enrol(club)
    first = pay(club, m, "shop-3003", idempotency_key="retry-1")
    again = pay(club, m, "shop-3003", idempotency_key="retry-1")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert session.scalar(select(func.count()).select_from(RevenueRecord)) == 1


def test_a_renewal_pays_one_more_interval_from_the_renewal_date(club: Api) -> None:
    m = enrol(club)
    pay(club, m, "r-1")
    r = pay(club, m, "r-2")
    assert r.status_code == 201, r.text
    assert r.json()["membership"]["renews_at"].startswith("2028-03-02T09:00")
    assert r.json()["payment"]["period_start"].startswith("2027-03-02T09:00")
    body = club.get(f"/members/{m}/membership", scope="web").json()
    assert [p["reference"] for p in body["active"]["payments"]] == ["r-1", "r-2"]
    assert len(body["history"]) == 1


def test_monthly_renewals_keep_their_day_after_a_short_month(club: Api, clock: FixedClock) -> None:
    m = enrol(club)
    clock.at = local(2026, 1, 31)
    renewals = [
        pay(club, m, f"month-{i}", plan="silver-monthly").json()["membership"]["renews_at"][:10]
        for i in range(3)
    ]
    assert renewals == ["2026-02-28", "2026-03-31", "2026-04-30"]


def test_a_cancelled_membership_lasts_until_the_end_of_the_paid_period(
    club: Api, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    m = enrol(club)
    pay(club, m, "c-1")
    r = club.post(f"/members/{m}/membership/cancel", scope="web")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert r.json()["cancelled_at"] is not None
    renews_at = datetime.fromisoformat(r.json()["renews_at"])

    assert jobs(session_factory, clock, renews_at - timedelta(seconds=1)).memberships_ended == 0
    assert tier(club, m) == "gold"
    assert jobs(session_factory, clock, renews_at).memberships_ended == 1
    body = club.get(f"/members/{m}/membership").json()
    assert body["active"] is None
    assert (body["history"][0]["status"], body["history"][0]["end_reason"]) == (
        "ended",
        "cancelled",
    )
    assert tier(club, m) == "bronze"
    assert history(club, m)[-1] == ("gold", "bronze", "lapse")


def test_a_lapsed_membership_ends_its_benefits_and_the_tier_falls_back(
    club: Api, session_factory: sessionmaker[Session], clock: FixedClock, session: Session
) -> None:
    m = enrol(club)
    # The member qualifies for Silver on their own, and pays for Gold.
    bought = club.post("/purchases", purchase_payload(member_id=m, lines=[amount(SILVER)]))
    assert bought.status_code == 201
    assert tier(club, m) == "silver"
    pay(club, m, "l-1")
    assert tier(club, m) == "gold"
    # Gold's multiplier while the membership is active ...
    before = club.post("/purchases", purchase_payload(member_id=m, lines=[amount(10_000)]))
    assert before.json()["points"] == 150

    # Half a year on, the member earns Silver again within their Silver period.
    clock.at = START + timedelta(days=180)
    club.post("/purchases", purchase_payload(member_id=m, lines=[amount(SILVER)]))

    renews_at = datetime.fromisoformat(
        club.get(f"/members/{m}/membership").json()["active"]["renews_at"]
    )
    summary = jobs(session_factory, clock, renews_at + timedelta(days=1))
    assert summary.memberships_ended == 1
    ended = club.get(f"/members/{m}/membership").json()["history"][0]
    assert (ended["status"], ended["end_reason"]) == ("ended", "lapsed")
    # ... and once it lapses, the tier is what the member qualifies for: Silver.
    assert tier(club, m) == "silver"
    assert history(club, m)[-2:] == [
        ("silver", "gold", "paid_membership"),
        ("gold", "silver", "lapse"),
    ]
    lapsed = session.scalars(select(Event).where(Event.type == "membership_ended")).one()
    assert lapsed.properties["reason"] == "lapsed"
    after = club.post("/purchases", purchase_payload(member_id=m, lines=[amount(10_000)]))
    assert after.json()["points"] == 125
    assert after.json()["explanation"].endswith("×1.25 Silver")
    # Running the jobs again changes nothing.
    assert jobs(session_factory, clock, renews_at + timedelta(days=2)).memberships_ended == 0


def test_the_tier_falls_back_to_the_qualified_one_within_its_period(
    club: Api, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    m = enrol(club)
    pay(club, m, "q-1", plan="silver-monthly")
    assert tier(club, m) == "silver"
    club.post("/purchases", purchase_payload(member_id=m, lines=[amount(SILVER)]))
    assert tier(club, m) == "silver"
    assert history(club, m)[-1] == ("bronze", "silver", "paid_membership")
    jobs(session_factory, clock, START + timedelta(days=40))  # a month: unrenewed
    assert tier(club, m) == "silver"  # qualified Silver stays: no change to record
    assert history(club, m)[-1] == ("bronze", "silver", "paid_membership")
    progress = club.get(f"/members/{m}/tier").json()
    assert progress["paid"] is None
    assert progress["qualified_tier"]["code"] == "silver"


def test_a_paid_tier_below_the_qualified_one_changes_nothing(club: Api) -> None:
    m = enrol(club)
    club.post("/purchases", purchase_payload(member_id=m, lines=[amount(300_000)]))
    assert tier(club, m) == "gold"
    pay(club, m, "low-1", plan="silver-monthly")
    assert tier(club, m) == "gold"
    assert history(club, m)[-1] == ("bronze", "gold", "qualified")


def test_a_membership_on_another_plan_must_end_first(club: Api) -> None:
    m = enrol(club)
    pay(club, m, "o-1")
    r = pay(club, m, "o-2", plan="silver-monthly")
    assert r.status_code == 409
    assert (r.json()["error"], r.json()["field"]) == ("MembershipOnOtherPlan", "plan")


def test_a_retired_plan_takes_no_new_members_but_renews_its_own(club: Api) -> None:
    m = enrol(club)
    pay(club, m, "ret-1")
    assert club.post("/membership-plans/gold-annual/retire").status_code == 200
    assert pay(club, m, "ret-2").status_code == 201
    newcomer = enrol(club)
    r = pay(club, newcomer, "ret-3")
    assert r.status_code == 409
    assert r.json()["error"] == "PlanRetired"


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"plan": "platinum"}, 422, "UnknownPlan"),
        ({"currency": "EUR"}, 422, "PlanCurrencyMismatch"),
        ({"amount_minor": -5}, 422, "ValidationError"),
        ({"reference": ""}, 422, "ValidationError"),
    ],
)
def test_a_bad_payment_is_refused(
    club: Api, change: dict[str, Any], status: int, error: str
) -> None:
    m = enrol(club)
    body = {"plan": "gold-annual", "reference": "bad-1", "amount_minor": 1, "currency": "SEK"}
    r = club.post(f"/members/{m}/membership/payments", {**body, **change}, scope="web")
    assert (r.status_code, r.json()["error"]) == (status, error)


def test_cancelling_without_a_membership_is_refused(club: Api) -> None:
    r = club.post(f"/members/{enrol(club)}/membership/cancel", scope="web")
    assert (r.status_code, r.json()["error"]) == (409, "NoActiveMembership")
