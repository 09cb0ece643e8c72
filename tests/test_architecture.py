"""The architecture as checks: no module of lojal takes part in an import cycle, the import
contracts of pyproject.toml (``[tool.importlinter]``) hold, and docs/architecture.md names only
modules and files that exist."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).parents[1]
SRC = ROOT / "src" / "lojal"
DOC = ROOT / "docs" / "architecture.md"


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """The import cycles: every set of modules that import each other, directly or not
    (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = []
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        work.append((start, sorted(graph.find_modules_directly_imported_by(start))))
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph.find_modules_directly_imported_by(nxt))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_takes_part_in_an_import_cycle() -> None:
    """Imports inside functions count too: a cycle hidden in a function is still a cycle."""
    cycles = strongly_connected(grimp.build_graph("lojal"))
    assert not cycles, "modules that import each other:\n" + "\n".join(
        " ⇄ ".join(component) for component in cycles
    )


def test_the_strongly_connected_modules_are_found() -> None:
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c", "p.d"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    graph.add_import(importer="p.c", imported="p.d")
    assert strongly_connected(graph) == [["p.a", "p.b", "p.c"]]


def test_the_import_contracts_hold() -> None:
    """The contracts of ``[tool.importlinter]``: pure modules import no database, web or
    command-line code; a feature that reacts never imports the dispatcher; services, reads
    and tables import no entry point."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


# ------------------------------------------------------------------ the document's names

DOTTED = re.compile(r"(?<![\w/.])lojal(?:\.[a-z_][a-z0-9_]*)+")
# `activities.bulk.import_purchases`: a name of lojal written without its ``lojal.`` (two
# parts, `members.tier`, may be a table's column, or a feature's function said short)
SHORT = re.compile(r"`([a-z_][a-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){2,})`")
PATH = re.compile(r"(?<![\w/.<>-])((?:[a-z_][a-z0-9_]*/)*[a-z_][a-z0-9_]*\.py)\b")
OUTSIDE = ("tests/", "bench/", "docs/")


def resolves(dotted: str) -> bool:
    """``lojal.a.b.c`` is a module, or an attribute of the longest module it starts with."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        for attribute in parts[end:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def file_exists(name: str, folder: str | None = None) -> bool:
    """``name`` (``x.py`` or ``a/x.py``) in ``folder`` of src/lojal, at the top of src/lojal or
    of the repository, or — a bare file name in prose — anywhere in src/lojal."""
    name = name.removeprefix("lojal/")
    if name.startswith(OUTSIDE):
        return (ROOT / name).exists()
    if folder is not None and (SRC / folder / name).exists():
        return True
    if (SRC / name).exists():
        return True
    return "/" not in name and any(SRC.rglob(name))


def layout_names(text: str) -> list[tuple[str, str | None]]:
    """The files and folders of the *Layout* section's tree, with the folder each is in."""
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    tree = section.split("```", 2)[1]
    names: list[tuple[str, str | None]] = []
    folder: str | None = None
    for line in tree.splitlines()[1:]:
        if line.startswith(("tests/", "bench/")):
            folder = None
            continue
        top = re.match(r"^  ([a-z_]+)(/|\.py)\s", line + " ")
        if top:
            folder = top.group(1) if top.group(2) == "/" else None
            if top.group(2) == "/":
                names.append((f"{folder}/", None))
        for name in PATH.findall(line):
            names.append((name, folder))
    return names


def test_the_architecture_document_names_modules_that_exist() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = sorted({name for name in DOTTED.findall(text) if not resolves(name)})
    for name in SHORT.findall(text):
        first = name.split(".")[0]
        if first != "lojal" and (SRC / first).is_dir() and not resolves(f"lojal.{name}"):
            missing.append(name)
    for name, folder in layout_names(text):
        if name.endswith("/"):
            if not (SRC / name).is_dir():
                missing.append(name)
        elif not file_exists(name, folder):
            missing.append(f"{folder}/{name}" if folder else name)
    for name in re.findall(r"`([^`\s]+\.py)`", text):
        if not file_exists(name):
            missing.append(name)
    assert not missing, "docs/architecture.md names what src/lojal does not have: " + ", ".join(
        missing
    )


def test_a_module_that_does_not_exist_is_found() -> None:
    assert resolves("lojal.db.session.transaction")
    assert not resolves("lojal.db.sessions")
    assert not resolves("lojal.db.session.commit_everything")
    assert file_exists("driver.py", "db")
    assert not file_exists("ledgerbook.py", "ledger")
    tree = "## Layout\n\n```\nsrc/lojal/\n  db/  base.py nowhere.py\n  gone/  x.py\n```\n"
    assert layout_names(tree) == [
        ("db/", None),
        ("base.py", "db"),
        ("nowhere.py", "db"),
        ("gone/", None),
        ("x.py", "gone"),
    ]


# A module over this many lines is a sign that it holds more than one concept: split it by
# concept (the migrations, a list of schema changes each, aside).
MODULE_LINES = 500


def test_no_module_is_over_the_line_budget() -> None:
    over = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > MODULE_LINES
    }
    assert over == {}
