"""`lojal demo`: a small club on SQLite loads, the ledger verifies, and a second run is
harmless."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from lojal.activities.models import Event, Purchase, Return
from lojal.cli import app
from lojal.db.engine import make_engine
from lojal.db.session import make_session_factory, transaction
from lojal.demo.generator import seasonality
from lojal.insight import queries as insight_queries
from lojal.ledger import queries as ledger_queries
from lojal.members.models import Member


def test_demo_loads_a_club_whose_ledger_verifies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = CliRunner()
    args = [
        "demo",
        "--database-url",
        url,
        "--members",
        "60",
        "--seed",
        "3",
        "--until",
        "2026-06-30",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "demo club loaded: 60 members" in result.output
    assert "lojal_" in result.output
    for phase in ("members", "purchases", "returns", "events", "jobs"):  # not 30 s of silence
        assert re.search(rf"^{phase} .*100%", result.output, re.MULTILINE), result.output
    export = re.search(r"^  export KEY=(lojal_\S+) API=(\S+) MEMBER=(\d+)$", result.output, re.M)
    assert export is not None, result.output
    assert export[2] == "http://127.0.0.1:8000/api/v1"
    assert '  curl -s -H "Authorization: Bearer $KEY" $API/members/$MEMBER/summary' in result.output
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine), read_only=True) as session:
            assert ledger_queries.verify(session) == []
            # the day's refit ran: the members who bought have figures
            fit = insight_queries.current_fit(session)
            assert insight_queries.rfm(session).members == fit.members > 30
            count = {
                m.__name__: session.scalar(select(func.count()).select_from(m)) or 0
                for m in (Member, Purchase, Return, Event)
            }
        assert count["Member"] == 60
        assert count["Purchase"] > 300
        assert count["Event"] > 0
        again = runner.invoke(app, args)
        assert again.exit_code == 0, again.output
        assert "already loaded" in again.output
        with transaction(make_session_factory(engine), read_only=True) as session:
            assert session.scalar(select(func.count()).select_from(Purchase)) == count["Purchase"]
    finally:
        engine.dispose()


def test_demo_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    runner = CliRunner()
    totals = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        result = runner.invoke(
            app,
            [
                "demo",
                "--database-url",
                url,
                "--members",
                "30",
                "--seed",
                "9",
                "--until",
                "2026-06-30",
            ],
        )
        assert result.exit_code == 0, result.output
        totals.append(result.output.splitlines()[0])
    assert totals[0] == totals[1]


def test_seasonality_has_a_christmas_peak_and_a_summer_dip() -> None:
    from datetime import date

    assert seasonality(date(2025, 12, 19)) > 2 * seasonality(date(2025, 7, 16))


def test_make_demo_serves_on_the_port_it_is_given() -> None:
    root = Path(__file__).parents[2]
    for command, port in (
        (["make", "-n", "demo", "PORT=8001"], 8001),
        (["env", "PORT=8002", "make", "-n", "demo"], 8002),
    ):
        planned = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
        assert f"lojal demo --database-url sqlite:///lojal.db --serve --port {port}" in (
            planned.stdout
        )
