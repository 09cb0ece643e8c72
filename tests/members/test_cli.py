"""``lojal members merge``: says what moved."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from lojal.cli import app
from tests.conftest import DEFAULT_PROGRAM
from tests.tiers.club import tiers


def test_merge_in_the_terminal_lists_what_moved(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'club.db'}"
    club = tmp_path / "club.yaml"
    club.write_text(yaml.safe_dump({**DEFAULT_PROGRAM, "tiers": tiers()}), encoding="utf-8")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "--database-url", url], terminal_width=200)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    run("db", "upgrade")
    run("program", "apply", str(club))
    run("members", "enrol", "--email", "one@example.se")
    run("members", "enrol", "--email", "two@example.se")
    out = run("members", "merge", "1", "2")
    assert "member 2 merged into 1" in out
    assert "members: identities 2" in out
    assert "tier: tier bronze" in out
