"""``lojal segments`` on a club in a SQLite file: create, list, show, preview, members,
import a static list (all or nothing), sweep; and ``lojal jobs run`` sweeps too."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.cli_runner import runner_for
from tests.conftest import DEFAULT_PROGRAM


def test_segments_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'club.db'}"
    club = tmp_path / "club.yaml"
    club.write_text(yaml.safe_dump(DEFAULT_PROGRAM), encoding="utf-8")
    run = runner_for(url)

    run("db", "upgrade")
    run("program", "apply", str(club))
    for n in (1, 2, 3):
        run("members", "enrol", "--email", f"m{n}@example.se")

    never = tmp_path / "never.yaml"
    never.write_text(
        yaml.safe_dump(
            {
                "code": "never-bought",
                "name": "Never bought",
                "definition": {"activity": "purchases", "measure": "none"},
            }
        ),
        encoding="utf-8",
    )
    created = json.loads(run("segments", "create", str(never)))
    assert (created["code"], created["size"]) == ("never-bought", 3)
    listed = run("segments", "list")
    row = next(ln for ln in listed.splitlines() if "never-bought" in ln)
    assert [cell.strip() for cell in row.strip("│ ").split("│")][:4] == [
        "1",
        "never-bought",
        "dynamic",
        "3",
    ]
    assert json.loads(run("segments", "show", "never-bought"))["definition"] == {
        "activity": "purchases",
        "measure": "none",
    }
    assert run("segments", "members", "never-bought").splitlines()[0].startswith("1\t")

    definition = tmp_path / "first.json"
    definition.write_text(
        json.dumps({"field": "member.enrolment_channel", "op": "eq", "value": "store"}),
        encoding="utf-8",
    )
    assert run("segments", "preview", str(definition)).startswith("3 members")
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"field": "member.chanel", "op": "eq", "value": "x"}))
    assert "unknown field 'member.chanel'" in run("segments", "preview", str(typo), code=2)

    static = tmp_path / "vip.yaml"
    static.write_text(yaml.safe_dump({"code": "vip", "name": "VIP", "kind": "static"}))
    run("segments", "create", str(static))
    bad = tmp_path / "bad.csv"
    bad.write_text("email\nm1@example.se\nnobody@example.se\n", encoding="utf-8")
    refused = run("segments", "import-list", "vip", str(bad), code=1)
    assert "line 3: no active member with email nobody@example.se" in refused
    assert json.loads(run("segments", "show", "vip"))["size"] == 0
    good = tmp_path / "good.csv"
    good.write_text("email\nm1@example.se\nm2@example.se\n", encoding="utf-8")
    assert "2 added" in run("segments", "import-list", "vip", str(good))

    swept = json.loads(run("segments", "sweep", "--all"))
    assert swept == {"segments": 1, "entered": 0, "left": 0}
    assert "segments swept" in run("jobs", "run")
