"""The real ``lojal`` command in a process of its own, as a person runs it: only what the
command imports is imported, and what reaches the terminal is what a person would read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_lojal(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``lojal ARGS`` with the environment of the tests minus every ``LOJAL_`` setting, plus
    ``env``; the output is text."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LOJAL_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "lojal", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
