"""The CLI for tiers and paid membership, on a club in a SQLite file: plans, a payment, a
member's tier and history, a staff decision, and the jobs."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from lojal.cli import app
from tests.conftest import DEFAULT_PROGRAM
from tests.tiers.club import tiers


def test_plans_payments_and_tiers_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'club.db'}"
    club = tmp_path / "club.yaml"
    club.write_text(yaml.safe_dump({**DEFAULT_PROGRAM, "tiers": tiers()}), encoding="utf-8")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "--database-url", url])
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    run("db", "upgrade")
    run("program", "apply", str(club))
    assert "member 1 enrolled" in run("members", "enrol", "--email", "cli@example.se")
    tiers_listed = json.loads(run("tiers", "list"))
    assert [level["code"] for level in tiers_listed["levels"]] == ["bronze", "silver", "gold"]

    out = run(
        "plans", "create", "gold-annual", "--name", "Gold", "--price-minor", "49900",
        "--tier", "gold",
    )  # fmt: skip
    # money reads in major units with its currency (not "49900 SEK")
    assert "plan gold-annual created: SEK\xa0499.00" in out
    listed = run("plans", "list")
    assert [
        cell.strip()
        for cell in next(ln for ln in listed.splitlines() if "gold-annual" in ln)
        .strip("│ ")
        .split("│")
    ] == ["gold-annual", "Gold", "SEK\xa0499.00/year", "gold", "active"]

    paid = run(
        "memberships", "pay", "1", "gold-annual", "--reference", "till-9",
        "--amount-minor", "49900", "--currency", "SEK",
    )  # fmt: skip
    assert "payment till-9 recorded" in paid
    again = run(
        "memberships", "pay", "1", "gold-annual", "--reference", "till-9",
        "--amount-minor", "49900", "--currency", "SEK",
    )  # fmt: skip
    assert "already recorded" in again
    shown = json.loads(run("memberships", "show", "1"))
    assert [p["reference"] for p in shown["active"]["payments"]] == ["till-9"]

    progress = json.loads(run("tiers", "show", "1"))
    assert progress["tier"]["code"] == "gold"
    assert progress["paid"]["tier"]["code"] == "gold"

    assert "membership ends at" in run("memberships", "cancel", "1")
    assert "member 1 is in tier gold" in run("tiers", "set", "1", "silver", "--reason", "test")
    history = run("tiers", "history", "1")
    assert "bronze → gold (paid_membership)" in history
    assert "- → bronze (joined)" in history
    report = run("jobs", "run")
    assert "memberships ended: 0" in report
    assert "tiers reviewed: 0" in report
    assert "plan gold-annual retired" in run("plans", "retire", "gold-annual")

    refused = runner.invoke(
        app, ["tiers", "set", "1", "platinum", "--reason", "x", "--database-url", url]
    )
    assert isinstance(refused.exception, Exception)
    assert "platinum" in str(refused.exception)
