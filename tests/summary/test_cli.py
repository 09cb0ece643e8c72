"""``lojal members summary``: the member's summary in the terminal, in their language."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from lojal.cli import app
from tests.conftest import DEFAULT_PROGRAM
from tests.tiers.club import tiers


def test_the_summary_in_the_terminal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'club.db'}"
    club = tmp_path / "club.yaml"
    club.write_text(
        yaml.safe_dump({**DEFAULT_PROGRAM, "point_name": "poäng", "tiers": tiers()}),
        encoding="utf-8",
    )
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "--database-url", url], terminal_width=200)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    run("db", "upgrade")
    run("program", "apply", str(club))
    run("members", "enrol", "--email", "cli@example.se")
    run("jobs", "run")  # gives the new member the entry tier
    out = run("members", "summary", "1")
    assert "Hej!" in out
    assert "Du har 0 poäng att använda." in out
    assert "Din nivå är Bronze." in out
    out = run("members", "summary", "1", "--locale", "en")
    assert "You have 0 poäng to spend." in out
    data = json.loads(run("members", "summary", "1", "--json"))
    assert data["member_id"] == 1
    assert data["tier"]["code"] == "bronze"

    result = runner.invoke(app, ["members", "summary", "7", "--database-url", url])
    assert result.exit_code != 0
    assert "member 7 does not exist" in str(result.exception)
