"""``lojal insight`` on the hand-made club in a SQLite file: refit, then RFM, CLV, churn, the
top customers and the backtest, in the terminal and as JSON; before a refit, one line that
says what to do."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from lojal.clock import FixedClock
from lojal.db.engine import make_engine
from lojal.db.session import make_session_factory
from tests.cli_runner import runner_for
from tests.conftest import DEFAULT_PROGRAM, START
from tests.insight.club import make_club


def test_insight_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'club.db'}"
    club = tmp_path / "club.yaml"
    club.write_text(yaml.safe_dump(DEFAULT_PROGRAM), encoding="utf-8")
    run = runner_for(url)

    run("db", "upgrade")
    run("program", "apply", str(club))
    assert "no figures are stored yet: run `lojal insight refit`" in run("insight", "rfm", code=1)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        ids = make_club(session, FixedClock(START))
        session.commit()
    engine.dispose()

    refitted = run("insight", "refit", "--as-of", "2026-03-01", "--months", "6")
    assert refitted.startswith("10 members scored as of 2026-03-01 (bgnbd, 6 months")
    assert "--as-of" in run("insight", "refit", "--as-of", "yesterday", code=2)

    grid = json.loads(run("insight", "rfm", "--json"))
    assert grid["revenue"] == 3310.0
    assert grid["fit"]["months"] == 6
    shown = run("insight", "rfm")
    assert "at_risk" in shown
    assert "10 members, SEK\xa03,310.00" in shown

    clv = json.loads(run("insight", "clv", "--json", "--highest", "2"))
    assert len(clv["highest"]) == 2
    assert "members: CLV SEK" in run("insight", "clv")

    churn = json.loads(run("insight", "churn", "--json", "--threshold", "0"))
    assert churn["at_risk"] == 10
    assert "of 10 members at risk" in run("insight", "churn")

    top = json.loads(run("insight", "top", "--json"))
    assert top["top_member_ids"] == [ids[1]]
    assert "the top 10% (1 of 10 members)" in run("insight", "top")

    backtest = json.loads(
        run(
            "insight",
            "backtest",
            "--calibration-end",
            "2026-01-15",
            "--holdout-end",
            "2026-03-01",
            "--json",
        )
    )
    assert backtest["members"] == sum(g["members"] for g in backtest["groups"])
    said = run(
        "insight", "backtest", "--calibration-end", "2026-01-15", "--holdout-end", "2026-03-01"
    )
    assert "purchase days in the holdout" in said
    backwards = run(
        "insight", "backtest", "--calibration-end", "2026-03-01", "--holdout-end", "2026-01-01",
        code=1,
    )  # fmt: skip
    assert "calibration_end 2026-03-01 must be before holdout_end 2026-01-01" in backwards
