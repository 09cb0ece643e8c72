"""The ``lojal`` command in the tests' own process (Typer's CliRunner), against one database."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import CliRunner

from lojal.cli import app


def runner_for(url: str) -> Callable[..., str]:
    """``run(*args, code=0)``: ``lojal ARGS --database-url URL``, which must end with ``code``;
    its output, and with code 1 the domain error that reached ``lojal.cli.main`` (which prints
    it as one line)."""
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, "--database-url", url])
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.output + (str(result.exception) if code == 1 else "")

    return run
