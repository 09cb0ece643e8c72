"""The ``lojal`` command as a person meets it when something is wrong: a missing file, a
missing or unmigrated database, a database URL it cannot use, a refused production setting.
Each ends in one line that names the problem and the fix, with a non-zero exit code, and no
traceback — run through the real entry point, in a process of its own."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lojal import cli, failures
from lojal.db.engine import make_engine
from tests.conftest import new_database_url
from tests.entry import run_lojal


def one_line_refusal(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The one line the command said, after checking it said only that."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "club.yaml"
    result = run_lojal("program", "apply", str(missing), "--database-url", "sqlite://")
    line = one_line_refusal(result, failures.FILE)
    assert str(missing) in line
    assert "No such file" in line


def test_a_file_that_is_not_yaml_says_where(tmp_path: Path) -> None:
    broken = tmp_path / "club.yaml"
    broken.write_text("name: [Kaffebaren\ncurrency: SEK\n", encoding="utf-8")
    result = run_lojal("program", "apply", str(broken), "--database-url", "sqlite://")
    line = one_line_refusal(result, failures.INVALID)
    assert "not valid YAML" in line
    assert "line 2" in line


def test_a_missing_sqlite_database_is_not_created_but_explained(tmp_path: Path) -> None:
    missing = tmp_path / "lojal.db"
    result = run_lojal("members", "find", "a@example.com", "--database-url", f"sqlite:///{missing}")
    line = one_line_refusal(result, failures.DATABASE)
    assert f"there is no database at {missing}" in line
    assert "lojal db upgrade" in line
    assert not missing.exists()


def test_an_unmigrated_database_asks_for_the_upgrade(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = new_database_url(backend, request)
    make_engine(url).dispose()
    if backend == "sqlite":  # an empty file, as a mistyped command would have left
        Path(url.removeprefix("sqlite:///")).touch()
    for command in (["program", "show"], ["jobs", "run"]):
        result = run_lojal(*command, "--database-url", url)
        line = one_line_refusal(result, failures.DATABASE)
        assert "has no lojal tables: run `lojal db upgrade` first" in line, command


def test_serve_refuses_a_database_that_is_not_migrated(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """Not a server that answers every request with 503 "the database is busy"."""
    url = new_database_url(backend, request)
    if backend == "sqlite":
        Path(url.removeprefix("sqlite:///")).touch()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_lojal("serve", "--database-url", url, "--port", str(port), timeout=60)
    line = one_line_refusal(result, failures.DATABASE)
    assert "run `lojal db upgrade`" in line


@pytest.mark.parametrize(
    "url", ["mysql://root:secret@localhost/club", "lojal.db", "postgresql://user@host:port/db"]
)
def test_a_database_url_lojal_cannot_use_is_refused(url: str) -> None:
    line = one_line_refusal(run_lojal("program", "show", "--database-url", url), failures.SETTINGS)
    assert "is not a database lojal can use" in line
    assert "sqlite:///" in line
    assert "secret" not in line


def test_a_database_server_that_does_not_answer(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://lojal:secret@127.0.0.1:{port}/club"
    line = one_line_refusal(run_lojal("program", "show", "--database-url", url), failures.DATABASE)
    assert "cannot open the database" in line
    assert "check that it is running" in line
    assert "secret" not in line


def test_production_without_a_pepper_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lojal.db'}"
    result = run_lojal("serve", "--database-url", url, env={"LOJAL_ENVIRONMENT": "production"})
    line = one_line_refusal(result, failures.SETTINGS)
    assert "LOJAL_API_KEY_PEPPER must be set to a secret in production: set it" in line


def test_an_error_lojal_did_not_expect_says_where_its_details_are(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> None:
        raise RuntimeError("a defect")

    monkeypatch.setattr(cli, "app", broken)
    monkeypatch.setattr(sys, "argv", ["lojal"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == failures.UNEXPECTED
    said = capsys.readouterr()
    line = said.err.strip()
    assert "\n" not in line
    assert "Traceback" not in said.out + said.err
    assert "lojal stopped on an error it did not expect (RuntimeError: a defect)" in line
    log = Path(line.split("the details are in ")[1].split(",")[0])
    assert "Traceback" in log.read_text(encoding="utf-8")
    assert "a defect" in log.read_text()
    log.unlink()


def test_the_settings_come_from_the_environment_and_an_option_stands_over_them(
    tmp_path: Path,
) -> None:
    """Settings reads LOJAL_*; a command's option replaces its setting, even one that the
    settings would refuse."""
    club = tmp_path / "club.db"
    env = {
        "LOJAL_DATABASE_URL": f"sqlite:///{club}",
        "LOJAL_HOST": "0.0.0.0",
        "LOJAL_PORT": "9123",
    }
    demo = run_lojal("demo", "--members", "3", env=env, timeout=300)
    assert demo.returncode == 0, demo.stderr
    assert "export KEY=" in demo.stdout
    assert "API=http://0.0.0.0:9123/api/v1" in demo.stdout
    assert club.exists()
    shown = run_lojal("demo", "--members", "3", "--port", "9200", env=env, timeout=300)
    assert "API=http://0.0.0.0:9200/api/v1" in shown.stdout
    other = tmp_path / "other.db"
    refused = {"LOJAL_DATABASE_URL": "mysql://root@localhost/club"}
    upgraded = run_lojal("db", "upgrade", "--database-url", f"sqlite:///{other}", env=refused)
    assert upgraded.returncode == 0, upgraded.stderr
    assert other.exists()
    line = one_line_refusal(run_lojal("program", "show", env=refused), failures.SETTINGS)
    assert "is not a database lojal can use" in line
