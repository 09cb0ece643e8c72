"""`lojal challenges` and `lojal badges`: a marketer's YAML file to a running challenge, and a
member's progress and badges on the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from lojal.activities import service as activities
from lojal.activities.schemas import PurchaseCreate
from lojal.challenges.errors import ChallengeLocked, InvalidChallenge
from lojal.cli import app
from lojal.db.session import make_session_factory, transaction
from lojal.enrolment import enrol
from lojal.members.schemas import MemberCreate
from tests.conftest import apply_program

FILE = """
- code: explorer
  name: Buy from 2 categories this month
  goal: {kind: distinct, field: line.category, target: 2}
  window: {kind: calendar, period: month}
  reward: {points: 20, badge: explorer}
- code: survey
  name: Answer the survey
  activity: event
  event_type: survey_answered
  goal: {kind: count, target: 1}
  ends_at: 2199-01-01
  reward: {points: 5}
- code: spender
  name: Spend 500 SEK
  goal: {kind: sum, target: 50000}
  reward: {points: 50}
"""


def test_from_a_yaml_file_to_a_member_s_badge(fresh_engine: Engine, tmp_path: Path) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    factory = make_session_factory(fresh_engine)
    now = datetime.now(UTC)
    with transaction(factory) as session:
        apply_program(session, now)
        member_id = enrol(session, data=MemberCreate(email="cli@example.se"), now=now).id

    def lojal(*args: str) -> str:
        result = runner.invoke(app, [*args, "--database-url", url])
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    lojal("badges", "create", "explorer", "--name", "Explorer")
    file = tmp_path / "challenges.yaml"
    file.write_text(FILE, encoding="utf-8")
    out = lojal("challenges", "apply", str(file), "--activate")
    assert "explorer created (active)" in out
    assert "survey created (active)" in out
    listed = lojal("challenges", "list", "--status", "active")
    assert "explorer" in listed
    assert "sum SEK\xa0500.00" in listed  # a sum of money reads as money, not "sum 50000"

    with transaction(factory) as session:
        data = PurchaseCreate(
            member_id=member_id,
            order_id="cli-1",
            lines=[
                {"sku": "K", "category": "coffee", "unit_price_minor": 100},
                {"sku": "T", "category": "tea", "unit_price_minor": 100},
            ],
        )
        activities.record_purchase(session, data=data, now=datetime.now(UTC))

    progress = {c["code"]: c for c in json.loads(lojal("challenges", "progress", str(member_id)))}
    assert progress["explorer"]["status"] == "completed"
    assert progress["survey"]["status"] == "not_started"
    [badge] = json.loads(lojal("badges", "show", str(member_id)))
    assert badge["code"] == "explorer"
    stats = json.loads(lojal("challenges", "stats", "explorer"))
    assert (stats["completions"], stats["points_awarded"]) == (1, 20)
    shown = json.loads(lojal("challenges", "show", "survey"))
    assert (shown["status"], shown["reward"]["points"]) == ("active", 5)

    # the same file again changes nothing; a changed goal of an active challenge is refused
    assert "explorer updated (active)" in lojal("challenges", "apply", str(file))
    file.write_text(FILE.replace("target: 2", "target: 3"), encoding="utf-8")
    result = runner.invoke(app, ["challenges", "apply", str(file), "--database-url", url])
    assert isinstance(result.exception, ChallengeLocked)
    file.write_text("- code: Not A Code\n", encoding="utf-8")
    result = runner.invoke(app, ["challenges", "apply", str(file), "--database-url", url])
    assert isinstance(result.exception, InvalidChallenge)
    assert "code" in result.exception.detail

    assert "ended" in lojal("challenges", "end", "survey")
    lojal("badges", "create", "vip", "--name", "VIP")
    lojal("badges", "grant", str(member_id), "vip")
    assert [b["code"] for b in json.loads(lojal("badges", "show", str(member_id)))] == [
        "explorer",
        "vip",
    ]
    lojal("badges", "revoke", str(member_id), "vip")
    assert "vip" in lojal("badges", "list")


@pytest.mark.parametrize("text", ["[1, 2]", "key: [unclosed"])
def test_a_file_that_is_not_challenges_is_refused(text: str) -> None:
    from lojal.challenges import service

    with pytest.raises(InvalidChallenge):
        service.parse(text)
