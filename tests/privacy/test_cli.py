"""``lojal members export|erase|erase-inactive`` on a real database (SQLite and PostgreSQL):
the export file holds the member's rows, erasure removes the person and keeps the ledger
balanced, retention erases only the inactive, and a dry run erases nothing."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, update
from typer.testing import CliRunner

from lojal import enrolment
from lojal.cli import app
from lojal.db.session import make_session_factory, transaction
from lojal.ledger import queries as ledger_queries
from lojal.members.models import Member
from lojal.members.schemas import MemberCreate
from lojal.privacy import erasure
from tests.conftest import START, apply_program


def test_privacy_from_the_command_line(backend: str, fresh_engine: Engine, tmp_path: Path) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    factory = make_session_factory(fresh_engine)
    with transaction(factory) as session:
        apply_program(session, START)
        ada, old, older = (
            enrolment.enrol(session, data=MemberCreate(email=email, first_name="Ada"), now=START)
            for email in ("ada@example.se", "old@example.se", "older@example.se")
        )
        ids = (ada.id, old.id, older.id)
        session.execute(
            update(Member)
            .where(Member.id.in_(ids[1:]))
            .values(enrolled_at=START - timedelta(days=6 * 366))
        )
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, "--database-url", url], terminal_width=200)
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.output

    out = tmp_path / "ada.json"
    said = run("members", "export", str(ids[0]), "--out", str(out))
    assert f"member {ids[0]}:" in said
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["member_id"] == ids[0]
    assert data["tables"]["members"][0]["first_name"] == "Ada"
    assert "ada@example.se" in json.dumps(data["tables"]["member_identities"])
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    said = run("members", "erase-inactive", "--years", "5", "--dry-run")
    assert "2 members would be erased" in said
    with transaction(factory) as session:
        assert not any(erasure.erased(session, i) for i in ids)

    said = run("members", "erase", str(ids[0]))
    assert f"member {ids[0]} erased" in said
    assert "was erased already" in run("members", "erase", str(ids[0]))
    assert "2 members inactive for 5 years erased" in run(
        "members", "erase-inactive", "--years", "5"
    )
    assert "0 members would be erased" in run(
        "members", "erase-inactive", "--years", "5", "--dry-run"
    )
    with transaction(factory) as session:
        assert all(erasure.erased(session, i) for i in ids)
        assert session.get(Member, ids[0]).first_name is None  # type: ignore[union-attr]
        assert ledger_queries.verify(session) == []
    # an unknown member: a one-line error, not a traceback
    run("members", "export", "987654", "--out", str(tmp_path / "x.json"), code=1)
