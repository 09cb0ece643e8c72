"""`lojal import members` and `lojal import cdnow`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from lojal.db.session import transaction
from lojal.imports import cdnow, members
from lojal.ledger import queries as ledger_queries
from lojal.members import service as member_service
from tests.conftest import START
from tests.imports.helpers import club, counts, read_csv, write_csv

CDNOW = Path(__file__).resolve().parents[2] / "data" / "cdnow" / "CDNOW_master.txt"


def test_members_import_rejects_bad_rows_keeps_good_and_reruns_add_nothing(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    factory = club(fresh_engine)
    file = write_csv(
        tmp_path / "m.csv",
        ["E-post", "phone", "first_name", "birth_date", "consent_email"],
        [
            ["anna@example.se", "070-123 45 67", "Anna", "1980-05-01", "ja"],
            ["not-an-email", "", "Bo", "", ""],  # line 3
            ["cecilia@example.se", "", "Cecilia", "31/12/1990", ""],  # line 4
            ["", "", "Nobody", "", ""],  # line 5
            ["david@example.se", "", "David", "", "maybe"],  # line 6
            ["erik@example.se", "", "Erik", "", "nej"],
        ],
    )
    summary = members.run(factory, file, now=START, mapping={"email": "E-post"})
    assert (summary.read, summary.written, summary.skipped, summary.rejected) == (6, 2, 0, 4)
    rejects = read_csv(tmp_path / "m.csv.rejects.csv")
    assert [(r["line"], r["reason"].split(":")[0]) for r in rejects] == [
        ("3", "email"),
        ("4", "birth_date"),
        ("5", "email"),
        ("6", "consent_email"),
    ]
    with transaction(factory, read_only=True) as session:
        anna = member_service.find(session, kind="phone", value="+46701234567")
        assert anna.first_name == "Anna"
        assert anna.enrolment_channel == "import"
    again = members.run(factory, file, now=START, mapping={"email": "E-post"})
    assert (again.written, again.skipped, again.rejected) == (0, 2, 4)
    assert counts(factory)["members"] == 2


def test_cdnow_first_rows_give_the_right_members_and_purchases(fresh_engine: Engine) -> None:
    factory = club(fresh_engine)
    limit = 500
    lines = CDNOW.read_text().splitlines()[1 : limit + 1]
    customers = {line.split()[0] for line in lines}
    summary = cdnow.run(factory, CDNOW, now=START, limit=limit, batch_size=120)
    assert (summary.read, summary.written, summary.rejected) == (limit, limit, 0)
    after = counts(factory)
    assert after["members"] == len(customers)
    assert after["purchases"] == limit
    assert after["entries"] == limit
    again = cdnow.run(factory, CDNOW, now=START, limit=limit, batch_size=120)
    assert (again.written, again.skipped) == (0, limit)
    assert counts(factory) == after
    with transaction(factory, read_only=True) as session:
        assert ledger_queries.verify(session) == []
