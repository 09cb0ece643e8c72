"""What the command prints for a person and for a file: ``lojal program show`` writes the
programme as it was applied (a console wrapped it at 80 columns and the YAML no longer
parsed), and tables stay readable at 80 columns — no header or value cut into pieces."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from lojal.db.session import make_session_factory, transaction
from lojal.program import service as program
from lojal.terminal import fitted
from tests.conftest import apply_program, migrated_engine, new_database_url
from tests.entry import run_lojal
from tests.referrals.conftest import REFERRALS

NARROW = {"COLUMNS": "80"}
LONG_LINES = f"""# {"A comment much longer than eighty columns, as the demo's programme has " * 2}
name: Testklubben med ett namn som är längre än de flesta terminaler är breda, för att se
currency: SEK
timezone: Europe/Stockholm
rules:
  - {{id: base, kind: base, name: "{"en poäng per krona " * 6}", points: 1}}
  - {{id: coffee, kind: multiplier, factor: 2, when: {{field: line.category, op: in, value: {
    list("abcdefghijklmnopqrstuvwxyz")
}}}}}
"""


def test_program_show_round_trips_through_a_file(fresh_engine: Engine, tmp_path: Path) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    factory = make_session_factory(fresh_engine)
    now = datetime.now(UTC)
    with transaction(factory) as session:
        applied = program.apply(
            session, config=program.parse(LONG_LINES), source=LONG_LINES, now=now
        )
        assert max(len(line) for line in LONG_LINES.splitlines()) > 80
    shown = run_lojal("program", "show", "--database-url", url, env=NARROW)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == LONG_LINES
    club = tmp_path / "club.yaml"
    club.write_text(shown.stdout, encoding="utf-8")
    again = run_lojal("program", "apply", str(club), "--database-url", url, env=NARROW)
    assert again.returncode == 0, again.stderr
    with transaction(factory, read_only=True) as session:
        assert program.get(session).config == applied.config
    assert run_lojal("program", "show", "--database-url", url).stdout == LONG_LINES


def readable_at_80(output: str, words: list[str]) -> None:
    assert "…" not in output, output
    assert max(len(line) for line in output.splitlines()) <= 80, output
    printed = set(re.findall(r"[\w:+.-]+", output))
    missing = [w for w in words if w not in printed]
    assert not missing, (missing, output)


CHALLENGES = """
- code: explorer
  name: Buy from four different categories in one calendar quarter
  goal: {kind: distinct, field: line.category, target: 4}
  window: {kind: calendar, period: quarter}
  starts_at: 2026-01-01T08:00:00+00:00
  ends_at: 2199-01-01T00:00:00+00:00
  reward: {points: 200}
"""


def test_tables_are_readable_at_80_columns(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = new_database_url("sqlite", request)
    engine = migrated_engine(url)
    with transaction(make_session_factory(engine)) as session:
        apply_program(session, datetime.now(UTC), referrals=REFERRALS)
    engine.dispose()
    file = tmp_path / "challenges.yaml"
    file.write_text(CHALLENGES, encoding="utf-8")
    assert run_lojal("challenges", "apply", str(file), "--database-url", url).returncode == 0
    report = run_lojal("referrals", "report", "--database-url", url, env=NARROW)
    assert report.returncode == 0, report.stderr
    headers = "advocate referrals pending qualified rewarded refused capped voided points given"
    readable_at_80(report.stdout, [*headers.split(), "pts", "revenue", "total", "0.00"])
    listed = run_lojal("challenges", "list", "--database-url", url, env=NARROW)
    assert listed.returncode == 0, listed.stderr
    words = ["code", "name", "status", "goal", "runs", "from", "until", "explorer", "distinct"]
    readable_at_80(listed.stdout, [*words, "2199-01-01T00:00:00+00:00"])
    spec = tmp_path / "spring.yaml"
    spec.write_text(
        "name: Spring sale for every member of the club\nhashtag: spring26\n"
        "discount_kind: amount\namount_minor: 2500\npublic_code: SPRINGTIME2026\n",
        encoding="utf-8",
    )
    assert run_lojal("coupons", "create", str(spec), "--database-url", url).returncode == 0
    coupons = run_lojal("coupons", "list", "--database-url", url, env=NARROW)
    assert coupons.returncode == 0, coupons.stderr
    readable_at_80(coupons.stdout, ["public", "SPRINGTIME2026", "spring26", "25.00", "active"])


def test_a_table_too_wide_for_the_terminal_becomes_one_block_per_row() -> None:
    table = Table(title="wide")
    columns = [f"column number {i}" for i in range(8)]
    for name in columns:
        table.add_column(name)
    table.add_row(*(f"value-{i}-of-the-first-row" for i in range(8)))
    table.add_row(*(f"value-{i}-of-the-second-row" for i in range(8)))
    out = io.StringIO()
    console = Console(file=out, width=80)
    console.print(fitted(console, table))
    readable_at_80(out.getvalue(), [*columns[0].split(), "value-7-of-the-second-row"])
    assert out.getvalue().count("column number 3") == 2
    narrow = Table("a", "b")
    narrow.add_row("1", "2")
    assert fitted(console, narrow) is narrow
