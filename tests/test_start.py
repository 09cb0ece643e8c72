"""What a command costs at start: the ``lojal`` script imports a feature's commands only when
one of them is named (``lojal.cli.FEATURES``), so ``lojal import purchases`` and the import's
worker processes start without the heavy parts of lojal they never use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lojal import cli

HEAVY = ("scipy", "numpy", "fastapi", "uvicorn", "dkim", "lojal.app", "lojal.pages.site")


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_the_import_command_starts_without_the_heavy_parts() -> None:
    loaded = _modules_after(
        "from lojal.cli import app\n"
        "import typer.main\n"
        "group = typer.main.get_group(app)\n"
        "import click\n"
        "command = group.get_command(click.Context(group), 'import')\n"
        "assert command is not None and 'purchases' in command.commands\n"
    )
    assert "lojal.imports.cli" in loaded
    assert [name for name in HEAVY if name in loaded] == []
    assert "lojal.demo.cli" not in loaded
    assert "lojal.journeys.cli" not in loaded


def test_the_entry_point_imports_nothing_of_lojal() -> None:
    loaded = _modules_after("import lojal.entry")
    assert sorted(name for name in loaded if name.startswith("lojal.")) == ["lojal.entry"]


@pytest.mark.parametrize("name", sorted(cli.FEATURES))
def test_every_feature_command_is_found_and_has_help(name: str) -> None:
    result = CliRunner().invoke(cli.app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_the_help_lists_every_command_once() -> None:
    result = CliRunner().invoke(cli.app, ["--help"])
    assert result.exit_code == 0, result.output
    listed = [
        line.split()[1]
        for line in result.output.splitlines()
        if line.startswith("│ ") and len(line.split()) > 2
    ]
    for name in ["serve", "db", *cli.FEATURES]:
        assert listed.count(name) == 1, (name, listed)


def test_the_import_workers_server_loads_lojal_frozen_with_the_collector_on() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gc, lojal.imports.preload, sys\n"
            "print(gc.isenabled(), gc.get_freeze_count(), 'lojal.activities.bulk' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[0] == "True"
    assert int(out[1]) > 100_000  # lojal's objects, out of the collector's reach
    assert out[2] == "True"  # what a worker runs is loaded before any worker is forked
