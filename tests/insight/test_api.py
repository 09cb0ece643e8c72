"""``/api/v1/insight`` on the hand-made club: the refit queued and run by the worker, the
reads in kronor, a member's figures, the backtest, and refusals that name the field."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.worker import registry
from lojal.worker.kinds import Context
from lojal.worker.runner import Worker
from tests.conftest import Api
from tests.insight.club import AS_OF, buy, make_club, noon


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def test_the_marketer_reads_the_stored_figures(
    api: Api, session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    before = api.get("/insight/rfm")
    assert before.status_code == 409
    assert before.json()["error"] == "NotFitted"

    ids = make_club(session, clock)
    buy(session, None, noon(AS_OF), 25_000)  # a sale with no member
    session.commit()
    queued = _ok(api.post("/insight/refit", {"months": 6}, idempotency_key="refit-1"), 202)
    assert queued["kind"] == "insight_refit"
    assert queued["queued"] is True
    worker = Worker(session_factory, clock, registry.handlers(Context(session_factory, clock)))
    assert worker.turn().done == 1

    fit = _ok(api.get("/insight/fit"))
    assert (fit["as_of"], fit["months"], fit["model"], fit["members"]) == (
        AS_OF.isoformat(),
        6,
        "bgnbd",
        10,
    )
    assert set(fit["params"]["purchases"]) == {"r", "alpha", "a", "b"}

    rfm = _ok(api.get("/insight/rfm"))
    assert rfm["currency"] == "SEK"
    assert len(rfm["grid"]) == 25
    assert rfm["revenue"] == 3310.0  # kronor
    assert {g["group"]: g["members"] for g in rfm["groups"]}["at_risk"] == 3

    member = _ok(api.get(f"/members/{ids[8]}/insight"))
    assert (member["r"], member["f"], member["m"], member["group"]) == (2, 4, 4, "at_risk")
    assert member["revenue"] == 550.0
    assert member["churn_risk"] == 1 - member["p_alive"]

    page = _ok(api.get("/insight/members", params={"limit": 4}))
    assert [m["member_id"] for m in page["items"]] == sorted(ids.values())[:4]
    assert page["next_after"] == sorted(ids.values())[3]
    champions = _ok(api.get("/insight/members", params={"group": "champions"}))
    assert {m["member_id"] for m in champions["items"]} == {ids[1], ids[2]}

    clv = _ok(api.get("/insight/clv", params={"highest": 3}))
    assert clv["members"] == 10
    assert len(clv["highest"]) == 3
    assert clv["highest"][0]["clv"] >= clv["highest"][1]["clv"] >= clv["highest"][2]["clv"]
    assert round(sum(g["clv"] for g in clv["groups"]), 2) == clv["clv"]

    churn = _ok(api.get("/insight/churn", params={"threshold": 0}))
    assert churn["at_risk"] == 10
    assert churn["at_risk_revenue"] == 3310.0
    assert sum(b["members"] for b in churn["bands"]) == 10

    top = _ok(api.get("/insight/top"))
    assert top["members"] == 1  # the top 10 % of 10 members
    assert top["top_member_ids"] == [ids[1]]
    assert top["revenue_share"] == 90_000 / 331_000
    assert top["top_mean"] == 900.0
    assert top["rest_mean"] == round(2410 / 9, 2)
    assert (top["non_member_purchases"], top["non_member_revenue"]) == (1, 250.0)
    assert top["member_revenue"] == 3310.0  # the purchase after AS_OF is left out

    unknown = api.get("/members/999999/insight")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "MemberNotScored"


def test_the_backtest_and_the_refusals_name_the_field(
    api: Api, session: Session, clock: FixedClock
) -> None:
    make_club(session, clock)
    session.commit()
    done = _ok(
        api.get(
            "/insight/backtest",
            params={"calibration_end": "2026-01-15", "holdout_end": AS_OF.isoformat()},
        )
    )
    assert done["holdout_weeks"] == 45 / 7
    assert [g["label"] for g in done["groups"]] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert done["members"] == sum(g["members"] for g in done["groups"])
    assert done["actual"] == sum(g["actual"] for g in done["groups"])
    assert abs(done["predicted"] - sum(g["predicted"] for g in done["groups"])) < 1e-9
    assert done["error_pct"] == (done["predicted"] - done["actual"]) / done["actual"] * 100

    backwards = api.get(
        "/insight/backtest", params={"calibration_end": "2026-03-01", "holdout_end": "2026-02-01"}
    )
    assert backwards.status_code == 422
    assert backwards.json()["field"] == "calibration_end"
    future = api.get(
        "/insight/backtest", params={"calibration_end": "2026-01-01", "holdout_end": "2027-01-01"}
    )
    assert future.status_code == 422
    assert future.json()["field"] == "holdout_end"
    not_a_day = api.get("/insight/backtest", params={"calibration_end": "soon"})
    assert not_a_day.status_code == 422
    assert not_a_day.json()["errors"][0]["field"] == "calibration_end"
    too_early = api.get("/insight/backtest", params={"calibration_end": "1990-01-01"})
    assert too_early.status_code == 409
    assert too_early.json()["error"] == "NotEnoughHistory"
    bad = api.post("/insight/refit", {"months": 0, "model": "magic"}, idempotency_key="r-2")
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"months", "model"}
    assert api.get("/insight/top", params={"share": 1.5}).status_code == 422
