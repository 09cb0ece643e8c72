"""``/api/v1/journeys`` and ``lojal journeys``: saved off, switched on, runs and figures;
channel policies; bad input is a 422 naming the field, an unknown journey a 404."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.demo.journeys import ready_made
from tests.cli_runner import runner_for
from tests.conftest import DEFAULT_PROGRAM, Api
from tests.journeys.crowd import add_members

WELCOME: dict[str, Any] = {
    "code": "hej",
    "name": "Hej",
    "trigger": {"kind": "enrolled"},
    "audience": {"field": "member.consent.email", "op": "eq", "value": True},
    "steps": [
        {"points": {"points": 25, "reason": "välkommen"}},
        {"send": {"channel": "inbox", "template": "hej"}},
    ],
    "templates": {"hej": {"subject": "Hej {{ member.first_name }}", "body": "Välkommen!"}},
}


def test_journeys_through_the_api(api: Api, session: Session, clock: FixedClock) -> None:
    bad = api.post("/journeys", {**WELCOME, "templates": {}})
    assert bad.status_code == 422
    assert "template 'hej' is not in templates" in bad.text
    no_campaign = api.post(
        "/journeys", {**WELCOME, "steps": [{"coupon": {"campaign": "Finns inte"}}]}
    )
    assert no_campaign.status_code == 422
    assert no_campaign.json()["field"] == "steps.coupon.campaign"
    made = api.post("/journeys", WELCOME)
    assert made.status_code == 201, made.text
    journey = made.json()
    assert (journey["enabled"], journey["trigger"]) == (False, "enrolled")
    assert journey["definition"]["audience"] == WELCOME["audience"]
    assert api.post("/journeys", WELCOME).json()["error"] == "JourneyCodeTaken"
    # off: nobody enters
    off = api.post("/members", {"email": "av@example.se", "channel": "web"}).json()
    assert api.get(f"/members/{off['id']}/journey-runs").json() == []
    assert api.post(f"/journeys/{journey['id']}/enable").json()["enabled"] is True
    consenting = {
        "email": "pa@example.se",
        "channel": "web",
        "first_name": "Pia",
        "consents": [{"channel": "email", "granted": True}],
    }
    pia = api.post("/members", consenting).json()
    outside = api.post("/members", {"email": "ut@example.se", "channel": "web"}).json()
    (run,) = api.get(f"/journeys/{journey['id']}/runs").json()
    assert (run["member_id"], run["state"], run["held_out"]) == (pia["id"], "entered", False)
    assert api.get(f"/members/{outside['id']}/journey-runs").json() == []  # not in audience
    figures = api.get(f"/journeys/{journey['id']}/figures").json()
    assert (figures["entered"], figures["active"], figures["sent"]) == (1, 1, 0)
    assert (figures["currency"], figures["control"]["runs"]) == ("SEK", 0)
    # a holdout needs at least 1,000 members within 10 % of the audience (one member here)
    small = api.put(f"/journeys/{journey['id']}", {**WELCOME, "holdout_percent": 5})
    assert (small.status_code, small.json()["field"]) == (422, "holdout_percent")
    assert "too small for a control group" in small.json()["detail"]
    add_members(session, 20_000, now=clock.now(), consents=["email"])  # 5 %: 1,000
    changed = api.put(
        f"/journeys/{journey['id']}", {**WELCOME, "name": "Hej igen", "holdout_percent": 5}
    )
    assert (changed.json()["revision"], changed.json()["holdout_percent"]) == (2, 5)
    renamed = api.put(f"/journeys/{journey['id']}", {**WELCOME, "code": "annan"})
    assert (renamed.status_code, renamed.json()["field"]) == (422, "code")
    assert api.post(f"/journeys/{journey['id']}/disable").json()["enabled"] is False
    assert api.get("/journeys/99999").status_code == 404
    assert api.get("/journeys/99999/figures").json()["error"] == "JourneyNotFound"
    assert [j["code"] for j in api.get("/journeys").json()] == ["hej"]


def test_channel_policies_through_the_api(api: Api) -> None:
    half = api.put("/journey-policies/email", {"cap_messages": 3})
    assert half.status_code == 422
    assert "cap_days" in half.text
    late = api.put("/journey-policies/sms", {"quiet_from": "25:00", "quiet_until": "08:00"})
    assert late.status_code == 422
    assert api.put("/journey-policies/fax", {}).status_code == 422
    done = api.put(
        "/journey-policies/sms",
        {"cap_messages": 2, "cap_days": 7, "quiet_from": "21:00", "quiet_until": "08:00"},
    )
    assert done.status_code == 200, done.text
    assert [(p["channel"], p["quiet_until"]) for p in api.get("/journey-policies").json()] == [
        ("sms", "08:00")
    ]


def test_the_global_control_group_through_the_api(
    api: Api, session: Session, clock: FixedClock
) -> None:
    shown = api.get("/journey-control").json()
    assert (shown["percent"], shown["active_members"], shown["expected_members"]) == (0, 0, 0)
    assert "salt" not in shown
    too_much = api.put("/journey-control", {"percent": 12})
    assert (too_much.status_code, too_much.json()["field"]) == (422, "percent")
    assert "at most 10 %" in too_much.json()["detail"]
    too_few = api.put("/journey-control", {"percent": 5})  # of no members
    assert (too_few.status_code, too_few.json()["field"]) == (422, "percent")
    assert api.put("/journey-control", {"percent": 5, "colour": "red"}).status_code == 422
    add_members(session, 20_000, now=clock.now())
    done = api.put("/journey-control", {"percent": 5})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["percent"], body["expected_members"], body["active_members"]) == (5, 1000, 20000)
    assert body["drawn_on"] == clock.now().date().isoformat()
    again = api.put("/journey-control", {"percent": 6})  # a new percent is a new draw
    assert (again.status_code, again.json()["field"]) == (422, "drawn_on")
    assert "needs a new draw (on or after 2026-" in again.json()["detail"]
    future = api.put("/journey-control", {"drawn_on": "2099-01-01"})
    assert (future.status_code, future.json()["field"]) == (422, "drawn_on")
    assert api.put("/journey-control", {"percent": 5}).status_code == 200  # no change
    assert api.get("/journey-control").json() == body
    clock.at = clock.now() + timedelta(days=31)  # a calendar month later: drawn anew
    later = api.put("/journey-control", {"percent": 6})
    assert (later.status_code, later.json()["drawn_on"]) == (200, clock.now().date().isoformat())


def test_journeys_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'club.db'}"
    club = tmp_path / "club.yaml"
    club.write_text(yaml.safe_dump(DEFAULT_PROGRAM), encoding="utf-8")
    run = runner_for(url)

    run("db", "upgrade")
    run("program", "apply", str(club))
    file = tmp_path / "journeys.yaml"
    data = ready_made()
    # the ready-made ones that name no campaign or segment (those are the demo's own)
    plain = [j for j in data["journeys"] if "coupon" not in json.dumps(j)]
    plain = [j for j in plain if j["trigger"]["kind"] != "segment_entered"]
    file.write_text(
        yaml.safe_dump({"journeys": plain, "policies": data["policies"]}, allow_unicode=True),
        encoding="utf-8",
    )
    out = run("journeys", "add", str(file))
    assert f"{len(plain)} journeys saved, 3 channel policies set" in out
    listed = run("journeys", "list")
    assert "medlemsjubileum" in listed
    assert "ny-niva" in listed
    assert '"enabled": false' in run("journeys", "show", "medlemsjubileum")
    assert "is on" in run("journeys", "enable", "medlemsjubileum")
    assert '"enabled": true' in run("journeys", "show", "medlemsjubileum")
    assert "is off" in run("journeys", "disable", "medlemsjubileum")
    run("journeys", "enable", "enkatpaminnelse")
    assert json.loads(run("journeys", "sweep")) == {"journeys": 1, "entered": 0}
    figures = json.loads(run("journeys", "figures", "enkatpaminnelse", "--json"))
    assert (figures["entered"], figures["sent"]) == (0, 0)
    table = run("journeys", "figures", "enkatpaminnelse", "--confidence", "0.9")
    assert "revenue" in table
    assert "needs treated and held-out members" in table  # no lift without runs
    assert "there is no journey 'nej'" in run("journeys", "show", "nej", code=1)
    broken = tmp_path / "broken.yaml"
    broken.write_text("- {code: x, name: X, trigger: {kind: nope}, steps: []}", "utf-8")
    assert "journeys[0].trigger.kind" in run("journeys", "add", str(broken), code=1)
    assert '"quiet_from": "22:00"' in run("journeys", "policy", "push", "--quiet", "22:00-06:00")
    assert "quiet hours are HH:MM-HH:MM" in run(
        "journeys", "policy", "push", "--quiet", "22", code=2
    )
    assert json.loads(run("journeys", "control"))["percent"] == 0
    refused = run("journeys", "control", "--percent", "5", code=1)
    assert "percent: an audience of 0 members is too small for a control group" in refused
    assert "is not a date" in run("journeys", "control", "--drawn-on", "igår", code=2)
