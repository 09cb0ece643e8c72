"""The report per advocate (admin API and `lojal referrals report`): referrals by status,
refusals by reason, points given, pending and clawed back, and what the referees spent."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from lojal import enrolment
from lojal.activities import returns
from lojal.activities import service as activities
from lojal.activities.schemas import PurchaseCreate, ReturnCreate
from lojal.cli import app
from lojal.clock import FixedClock
from lojal.db.session import make_session_factory, transaction
from lojal.jobs.service import run_due
from lojal.members.schemas import MemberCreate
from lojal.referrals import service as referrals
from tests.conftest import START, Api, apply_program
from tests.referrals.conftest import (
    REFERRALS,
    WINDOW,
    buy,
    code_of,
    configure,
    enrol,
    give_back,
    jobs,
)


@pytest.fixture
def story(club: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> dict[str, int]:
    """Anna brings five friends (one of each fate); Olle brings one who has not bought yet."""
    configure(club, caps={"month": 1})
    anna = enrol(club, email="anna.berg@gmail.com")["id"]
    code = code_of(club, anna)
    eva, bo, carl, ada = (enrol(club, code=code)["id"] for _ in range(4))
    alias = enrol(club, code=code, email="annaberg+2@gmail.com")["id"]  # refused
    returned = buy(club, eva, 25_000)
    give_back(club, returned["order_id"])  # voided: frees the month's place
    buy(club, bo, 25_000)  # qualified, rewarded after the window
    buy(club, carl, 30_000)  # capped
    buy(club, alias, 50_000)  # a refused referral's spending is not the advocate's doing
    olle = enrol(club)["id"]
    enrol(club, code=code_of(club, olle))
    clock.advance(WINDOW)
    jobs(session_factory, clock)
    buy(club, bo, 10_000)
    return {"anna": anna, "olle": olle, "ada": ada, "alias": alias}


def _report(api: Api, **params: Any) -> dict[str, Any]:
    r = api.get("/referrals/report", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_report_shows_each_advocates_referrals_points_and_revenue(
    club: Api, story: dict[str, int]
) -> None:
    report = _report(club)
    assert report["currency"] == "SEK"
    anna, olle = report["advocates"]
    assert (anna["advocate_id"], olle["advocate_id"]) == (story["anna"], story["olle"])
    assert anna["referrals"] == 5
    assert anna["counts"] == {
        "pending": 1,
        "qualified": 0,
        "rewarded": 1,
        "refused": 1,
        "capped": 1,
        "voided": 1,
    }
    assert anna["refused_by_reason"] == {"shared_email": 1}
    assert (anna["advocate_points_given"], anna["referee_points_given"]) == (500, 250)
    assert anna["points_pending"] == 0
    assert anna["points_clawed_back"] == 500 + 250
    assert anna["referee_purchases"] == 4  # Eva 1, Bo 2, Carl 1
    assert anna["referee_revenue_minor"] == (25_000 - 25_000) + (25_000 + 10_000) + 30_000
    assert olle["counts"]["pending"] == 1
    assert olle["referee_revenue_minor"] == 0
    totals = report["totals"]
    assert totals["referrals"] == 6
    assert totals["counts"]["pending"] == 2
    assert totals["referee_revenue_minor"] == anna["referee_revenue_minor"]


def test_the_report_narrows_to_one_advocate_or_a_period(club: Api, story: dict[str, int]) -> None:
    only = _report(club, advocate_id=story["olle"])
    assert [a["advocate_id"] for a in only["advocates"]] == [story["olle"]]
    assert only["totals"]["referrals"] == 1
    made = _report(club, since="2026-03-02", until="2026-03-02")
    assert made["totals"]["referrals"] == 6
    assert made["since"].startswith("2026-03-01T23:00")  # midnight in Stockholm
    later = _report(club, since="2026-03-03")
    assert (later["advocates"], later["totals"]["referrals"]) == ([], 0)
    assert len(_report(club, limit=1, offset=1)["advocates"]) == 1


def test_referrals_can_be_listed_by_status(club: Api, story: dict[str, int]) -> None:
    r = club.get("/referrals", params={"status": "refused"})
    assert r.status_code == 200, r.text
    [refused] = r.json()["referrals"]
    assert (refused["referee_id"], refused["reason"]) == (story["alias"], "shared_email")
    first = club.get("/referrals", params={"advocate_id": story["anna"], "limit": 4}).json()
    assert len(first["referrals"]) == 4
    rest = club.get(
        "/referrals",
        params={"advocate_id": story["anna"], "before": first["next_before"]},
    ).json()
    assert len(rest["referrals"]) == 1
    assert rest["next_before"] is None


def test_the_report_is_for_admins(club: Api) -> None:
    for path in ("/referrals/report", "/referrals"):
        r = club.get(path, scope="web")
        assert r.status_code == 403
        assert r.json()["error"] == "MissingScope"


def test_lojal_referrals_report_prints_the_same_figures(fresh_engine: Engine) -> None:
    factory = make_session_factory(fresh_engine)
    clock = FixedClock(START)
    with transaction(factory) as session:
        apply_program(session, clock.now(), referrals=REFERRALS)
        anna = enrolment.enrol(session, data=MemberCreate(email="anna@example.se"), now=clock.now())
        code = referrals.member_referral(session, member_id=anna.id, now=clock.now()).code
        friends = [
            enrolment.enrol(
                session,
                data=MemberCreate(email=f"f{i}@example.se", referral_code=code),
                now=clock.now(),
            )
            for i in range(3)
        ]
        for i, friend in enumerate(friends[:2]):
            activities.record_purchase(
                session,
                data=PurchaseCreate.model_validate(
                    {
                        "order_id": f"o-{i}",
                        "member_id": friend.id,
                        "lines": [{"sku": "A", "quantity": 1, "unit_price_minor": 234_56}],
                    }
                ),
                now=clock.now(),
            )
        returns.record_return(
            session,
            data=ReturnCreate(return_id="r-1", order_id="o-1"),
            now=clock.now() + timedelta(days=1),
        )
    clock.advance(WINDOW)
    run_due(factory, clock=clock)
    url = fresh_engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    result = runner.invoke(app, ["referrals", "report", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "3 referrals, 1 rewarded, 0 refused; referees spent SEK\xa0234.56" in result.output
    as_json = runner.invoke(app, ["referrals", "report", "--json", "--database-url", url])
    assert as_json.exit_code == 0, as_json.output
    [row] = json.loads(as_json.output)["advocates"]
    assert row["advocate_id"] == anna.id
    assert row["counts"]["rewarded"] == 1
    assert row["counts"]["voided"] == 1
    assert row["counts"]["pending"] == 1
    assert row["advocate_points_given"] == 500
    bad = runner.invoke(app, ["referrals", "report", "--since", "March", "--database-url", url])
    assert bad.exit_code != 0
