"""The README's examples run as written.

Every ``sh``/``bash`` block of README.md runs, in the README's order, in one directory that
holds a fresh demo club (``lojal.db``, as ``make demo`` leaves it) with its server on a free
loopback port, as one shell session would run them: what a block exports, the next one has.
The session starts with the variables the demo tells a person to paste (``KEY``, ``API``,
``MEMBER``). A block is marked in an HTML comment on the line above it:

- ``<!-- readme-test: file NAME -->``: the block is the content of the file NAME, written
  before the blocks after it run (the README's programme, its CSV files);
- ``<!-- readme-test: skip: REASON -->``: the block is not run (it serves until stopped).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"
SHELLS = ("sh", "bash", "shell")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
MARK = re.compile(r"<!--\s*readme-test:\s*(skip|file)\b:?\s*(.*?)\s*-->")
BLOCK_SECONDS = 180


@dataclass(frozen=True)
class Block:
    line: int
    language: str
    body: str
    mark: str | None  # "skip", "file" or None
    argument: str  # the reason of a skip, the name of a file


def blocks(text: str) -> list[Block]:
    found = []
    for fence in FENCE.finditer(text):
        before = text[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = MARK.fullmatch(before.strip())
        found.append(
            Block(
                line=text.count("\n", 0, fence.start()) + 1,
                language=fence[1],
                body=fence[2],
                mark=mark[1] if mark else None,
                argument=mark[2] if mark else "",
            )
        )
    return found


def test_the_readme_marks_few_blocks_and_says_why() -> None:
    found = blocks(README.read_text(encoding="utf-8"))
    skipped = [b for b in found if b.mark == "skip"]
    assert all(b.argument for b in skipped), "a skipped block says why"
    assert all(b.language in SHELLS for b in skipped)
    assert len(skipped) <= 2, [b.line for b in skipped]  # make demo/check, lojal serve
    assert sum(b.language in SHELLS and b.mark is None for b in found) >= 6
    assert all(b.argument for b in found if b.mark == "file")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_demo(directory: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """``lojal demo --serve`` (what ``make demo`` runs) on a free port: the server and the
    ``export`` line it printed."""
    port = free_port()
    server = subprocess.Popen(
        [".venv/bin/lojal", "demo", "--members", "200", "--serve", "--port", str(port)],
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert server.stdout is not None
    stdout = server.stdout

    def pump() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 300
    said: list[str] = []
    while not any(line.strip().startswith("export KEY=") for line in said):
        assert server.poll() is None, "".join(said)
        assert time.monotonic() < deadline, "".join(said)
        with contextlib.suppress(queue.Empty):
            said.append(lines.get(timeout=1))
    export = next(line for line in said if line.strip().startswith("export KEY="))
    while time.monotonic() < deadline:
        assert server.poll() is None, "".join(said)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                return server, export
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the demo server did not answer")


def test_every_command_block_of_the_readme_runs_as_written(tmp_path: Path) -> None:
    found = blocks(README.read_text(encoding="utf-8"))
    (tmp_path / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOJAL_")}
    server, export = start_demo(tmp_path, env)
    state = tmp_path / ".session"
    state.write_text(export.strip() + "\n", encoding="utf-8")
    assert {"KEY", "API", "MEMBER"} <= {word.split("=", 1)[0] for word in shlex.split(export)[1:]}
    ran_blocks = 0
    try:
        for block in found:
            if block.mark == "file":
                (tmp_path / block.argument).write_text(block.body, encoding="utf-8")
                continue
            if block.language not in SHELLS or block.mark == "skip":
                continue
            script = tmp_path / f"block-{block.line}.sh"
            script.write_text(
                f"set -euo pipefail\nsource {shlex.quote(str(state))}\n{block.body}\n"
                f"export -p > {shlex.quote(str(state))}\n",
                encoding="utf-8",
            )
            ran = subprocess.run(
                ["bash", str(script)],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=BLOCK_SECONDS,
                check=False,
            )
            said = f"README.md line {block.line}:\n{block.body}\n{ran.stdout}\n{ran.stderr}"
            assert ran.returncode == 0, said
            assert "Traceback" not in ran.stdout + ran.stderr, said
            ran_blocks += 1
        assert ran_blocks == sum(b.language in SHELLS and b.mark is None for b in found)
        assert ran_blocks >= 6
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
