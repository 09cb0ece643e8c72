"""Files as clubs really export them, and files that are broken: every row the importer cannot
take is a rejected row with its line and a reason naming the field, the others are imported,
and a file it cannot read at all is one sentence (never a traceback)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.activities.models import Purchase, PurchaseLine
from lojal.db.session import transaction
from lojal.errors import Invalid
from lojal.imports import grouping, members, purchases
from lojal.ledger import queries as ledger_queries
from lojal.members.models import Member
from tests.conftest import START
from tests.imports.helpers import club, counts, write_csv

HEADER = [
    "order_id",
    "email",
    "occurred_at",
    "channel",
    "store_id",
    "sku",
    "name",
    "category",
    "quantity",
    "unit_price_minor",
]
AT = START.isoformat()
NOW = START + timedelta(days=30)
LOJAL = str(Path(sys.executable).parent / "lojal")


def item(
    order_id: str,
    email: str,
    sku: str = "K1",
    price: int = 4500,
    *,
    at: str = AT,
    name: str = "",
    category: str = "coffee",
) -> list[object]:
    """One row of HEADER."""
    return [order_id, email, at, "store", "s1", sku, name, category, 1, price]


def reasons(path: Path) -> list[tuple[str, str]]:
    """``(line, reason)`` of each rejected row (the rows keep the bytes they had)."""
    limit = csv.field_size_limit(1 << 24)  # a rejected row may hold a field over the limit
    try:
        with path.open(newline="", encoding="utf-8", errors="surrogateescape") as f:
            return [(r["line"], r["reason"]) for r in csv.DictReader(f)]
    finally:
        csv.field_size_limit(limit)


def lines_of(factory: sessionmaker[Session], order_id: str) -> list[str]:
    with transaction(factory, read_only=True) as session:
        return list(
            session.scalars(
                select(PurchaseLine.sku)
                .join(Purchase)
                .where(Purchase.order_id == order_id)
                .order_by(PurchaseLine.line_no)
            )
        )


def lojal(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOJAL_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run(
        [LOJAL, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


# ------------------------------------------------------------------ item 6: orders


@pytest.mark.parametrize("workers", [1, 2])
def test_rows_of_one_order_that_are_not_consecutive_make_one_purchase(
    fresh_engine: Engine, tmp_path: Path, workers: int
) -> None:
    """An export sorted by time interleaves the lines of two tills' orders."""
    factory = club(fresh_engine, members_=3)
    rows = [
        item("o-1", "m1@example.se", "K1"),
        item("o-2", "m2@example.se", "K2"),
        item("o-1", "m1@example.se", "B1", 3500),
        item("o-3", "m3@example.se", "K3"),
        item("o-2", "m2@example.se", "B2", 3500),
    ]
    file = write_csv(tmp_path / "p.csv", HEADER, rows)
    summary = purchases.run(factory, file, now=NOW, batch_size=2, workers=workers)
    assert (summary.read, summary.written, summary.skipped, summary.rejected) == (5, 5, 0, 0)
    assert summary.extra["purchases written"] == 3
    assert lines_of(factory, "o-1") == ["K1", "B1"]
    assert lines_of(factory, "o-2") == ["K2", "B2"]
    again = purchases.run(factory, file, now=NOW, batch_size=2, workers=workers)
    assert (again.written, again.skipped, again.rejected) == (0, 5, 0)
    with transaction(factory, read_only=True) as session:
        assert ledger_queries.verify(session) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_a_row_too_far_from_the_rest_of_its_order_is_rejected_not_dropped(
    fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setattr(grouping, "WINDOW", 3)
    factory = club(fresh_engine, members_=3)
    rows = [
        item("o-1", "m1@example.se", "K1"),  # line 2
        item("o-2", "m2@example.se"),
        item("o-3", "m3@example.se"),
        item("o-4", "m1@example.se"),  # line 5: o-1 (last row on line 2) is still open
        item("o-1", "m1@example.se", "B1"),  # line 6: 4 lines after line 2 -> rejected
        item("o-1", "m1@example.se", "B2"),  # line 7: the same later group
    ]
    file = write_csv(tmp_path / "p.csv", HEADER, rows)
    summary = purchases.run(factory, file, now=NOW, workers=workers)
    assert (summary.read, summary.written, summary.skipped, summary.rejected) == (6, 4, 0, 2)
    rejects = reasons(tmp_path / "p.csv.rejects.csv")
    assert [line for line, _ in rejects] == ["6", "7"]
    assert rejects[0][1].startswith("order_id: order 'o-1' began on line 2")
    assert "more than 3 lines" in rejects[0][1]
    assert rejects[1][1].startswith("order_id: line 6 of this order was rejected")
    assert lines_of(factory, "o-1") == ["K1"]


def test_rows_of_one_order_naming_two_members_reject_the_order(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    factory = club(fresh_engine, members_=3)
    rows = [
        item("o-1", "m1@example.se", "K1"),  # line 2
        item("o-1", "m2@example.se", "B1"),  # line 3: another member
        item("o-2", "m1@example.se", "K1"),
        item("o-2", "M1@Example.SE", "B1"),  # the same member, written otherwise
        item("o-2", "", "B2"),  # a later row may leave the member empty
    ]
    file = write_csv(tmp_path / "p.csv", HEADER, rows)
    summary = purchases.run(factory, file, now=NOW)
    assert (summary.read, summary.written, summary.rejected) == (5, 3, 2)
    rejects = reasons(tmp_path / "p.csv.rejects.csv")
    assert rejects[0] == (
        "2",
        "order_id: line 3 of this order was rejected (" + rejects[1][1] + ")",
    )
    assert rejects[1][0] == "3"
    assert rejects[1][1].startswith(
        "email: 'm2@example.se' is not the member of this order's first row (line 2"
    )
    assert lines_of(factory, "o-1") == []
    assert lines_of(factory, "o-2") == ["K1", "B1", "B2"]


def test_ragged_rows_are_rejected_with_their_line(fresh_engine: Engine, tmp_path: Path) -> None:
    factory = club(fresh_engine, members_=2)
    file = tmp_path / "p.csv"
    file.write_text(
        ",".join(HEADER)
        + "\n"
        + f"o-1,m1@example.se,{AT},store,s1,K1,,coffee,1,4500\n"
        + f"o-2,m1@example.se,{AT},store,s1,K1,,coffee,1,4500,99\n"  # line 3: one too many
        + f"o-3,m2@example.se,{AT},store,s1,K1,,coffee,1\n"  # line 4: one too few
        + f"o-4,m2@example.se,{AT},store,s1,K1,,coffee,1,4500,,\n",  # empty extras: fine
        encoding="utf-8",
    )
    summary = purchases.run(factory, file, now=NOW)
    assert (summary.read, summary.written, summary.rejected) == (4, 2, 2)
    rejects = reasons(tmp_path / "p.csv.rejects.csv")
    assert [line for line, _ in rejects] == ["3", "4"]
    assert rejects[0][1].startswith("the row has 11 fields and the header 10")
    assert rejects[1][1].startswith("the row has 9 fields and the header 10")

    people = tmp_path / "m.csv"
    people.write_text("email,first_name\nanna@example.se,Anna\nbo@example.se,Bo,Extra\n")
    done = members.run(factory, people, now=START)
    assert (done.read, done.written, done.rejected) == (2, 1, 1)
    assert reasons(tmp_path / "m.csv.rejects.csv")[0][0] == "3"


# ------------------------------------------------------------------ item 7: unreadable


def test_a_latin1_file_keeps_its_good_rows_and_imports_whole_with_its_encoding(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    factory = club(fresh_engine)
    file = tmp_path / "m.csv"
    file.write_bytes(
        "email,first_name\nasa@example.se,Åsa\nbo@example.se,Bo\norjan@example.se,Örjan\n".encode(
            "latin-1"
        )
    )
    first = members.run(factory, file, now=START)
    assert (first.read, first.written, first.rejected, first.undecodable) == (3, 1, 2, 2)
    rejects = reasons(tmp_path / "m.csv.rejects.csv")
    assert [line for line, _ in rejects] == ["2", "4"]
    assert rejects[0][1].startswith("first_name: is not UTF-8 text (byte 0xc5)")
    assert "--encoding" in rejects[0][1]
    # the reject file holds the rows with their very bytes
    assert b"asa@example.se,\xc5sa" in (tmp_path / "m.csv.rejects.csv").read_bytes()
    again = members.run(factory, file, now=START, encoding="latin-1")
    assert (again.written, again.skipped, again.rejected) == (2, 1, 0)
    with transaction(factory, read_only=True) as session:
        names = session.scalars(select(Member.first_name))
        assert sorted(name or "" for name in names) == ["Bo", "Åsa", "Örjan"]


def test_import_purchases_takes_encoding_and_says_what_it_cannot_read(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    factory = club(fresh_engine, members_=1)
    file = tmp_path / "p.csv"
    file.write_bytes(
        (
            ",".join(HEADER) + "\n" + f"o-1,m1@example.se,{AT},store,s1,K1,Kaffe är gott,,1,4500\n"
        ).encode("latin-1")
    )
    plain = lojal("import", "purchases", str(file), url=_url(fresh_engine))
    assert plain.returncode == 0, plain.stderr
    assert "rejected 1" in plain.stdout
    assert "1 rows are not utf-8 text" in plain.stderr
    assert "--encoding" in plain.stderr
    latin = lojal("import", "purchases", str(file), "--encoding", "latin-1", url=_url(fresh_engine))
    assert latin.returncode == 0, latin.stderr
    assert "written 1" in latin.stdout
    with transaction(factory, read_only=True) as session:
        assert session.scalar(select(PurchaseLine.name)) == "Kaffe är gott"


def test_a_field_over_128_kib_is_a_rejected_row(fresh_engine: Engine, tmp_path: Path) -> None:
    factory = club(fresh_engine, members_=2)
    huge = "x" * 200_000
    file = write_csv(
        tmp_path / "p.csv",
        [*HEADER, "note"],
        [
            [*item("o-1", "m1@example.se"), ""],
            [*item("o-2", "m1@example.se", name=huge), ""],  # line 3
            [*item("o-2", "m1@example.se", "B1"), ""],  # line 4: the same order
            [*item("o-3", "m2@example.se"), huge],  # a column that is not read
            [*item("o-4", "m2@example.se"), ""],
        ],
    )
    summary = purchases.run(factory, file, now=NOW)
    assert (summary.read, summary.written, summary.rejected) == (5, 3, 2)
    rejects = reasons(tmp_path / "p.csv.rejects.csv")
    assert [line for line, _ in rejects] == ["3", "4"]
    assert rejects[0][1] == "name: longer than 131072 characters (the most a field can hold)"
    assert lines_of(factory, "o-3") == ["K1"]

    people = write_csv(
        tmp_path / "m.csv",
        ["email", "first_name"],
        [["anna@example.se", huge], ["bo@example.se", "Bo"]],
    )
    done = members.run(factory, people, now=START)
    assert (done.read, done.written, done.rejected) == (2, 1, 1)
    assert reasons(tmp_path / "m.csv.rejects.csv")[0][1].startswith("first_name: longer than")


def test_a_file_that_cannot_be_read_is_one_sentence(fresh_engine: Engine, tmp_path: Path) -> None:
    factory = club(fresh_engine, members_=1)
    utf16 = tmp_path / "p.csv"
    utf16.write_text(",".join(HEADER) + "\n" + ",".join(map(str, item("o-1", "m1@example.se"))),
                     encoding="utf-16")  # fmt: skip
    with pytest.raises(Invalid, match="the header \\(line 1\\) is not UTF-8 text"):
        purchases.run(factory, utf16, now=NOW)
    for args in (
        ["purchases", str(utf16)],
        ["members", str(utf16)],
        ["purchases", str(tmp_path / "missing.csv")],
        ["purchases", str(utf16), "--encoding", "klingon"],
    ):
        done = lojal("import", *args, url=_url(fresh_engine))
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
        said = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(said) == 1, (args, done.stderr)
        assert said[0].startswith("Invalid: "), (args, done.stderr)
    assert counts(factory)["purchases"] == 0


# ------------------------------------------------------------------ item 8: columns


def test_a_map_to_a_field_that_does_not_exist_is_refused(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    factory = club(fresh_engine, members_=1)
    file = write_csv(tmp_path / "p.csv", HEADER, [item("o-1", "m1@example.se")])
    with pytest.raises(Invalid, match="--map epost=email: there is no field 'epost'") as refused:
        purchases.run(factory, file, now=NOW, mapping={"epost": "email"})
    assert "order_id, member_id, email" in refused.value.detail
    done = lojal("import", "members", str(file), "--map", "mail=email", url=_url(fresh_engine))
    assert done.returncode == 2
    assert "there is no field 'mail' (the fields are email, phone" in done.stderr
    assert counts(factory)["purchases"] == 0


def test_a_file_without_the_columns_it_needs_is_refused_naming_them(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    factory = club(fresh_engine, members_=1)
    file = write_csv(
        tmp_path / "kvitton.csv",
        ["Kvitto", "email", "Artikel", "unit_price"],
        [["k-1", "m1@example.se", "K1", "45.00"]],
    )
    with pytest.raises(Invalid) as refused:
        purchases.run(factory, file, now=NOW)
    assert refused.value.detail.startswith(
        "kvitton.csv has no column for order_id; sku (it has Kvitto, email, Artikel, unit_price;"
    )
    assert "--map field=Column" in refused.value.detail
    people = write_csv(tmp_path / "m.csv", ["E-post", "first_name"], [["a@example.se", "A"]])
    with pytest.raises(Invalid, match="has no column for email or phone or card_number"):
        members.run(factory, people, now=START)
    assert counts(factory)["purchases"] == 0
    assert counts(factory)["members"] == 1


def test_columns_that_are_not_read_are_named_in_a_warning(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    factory = club(fresh_engine, members_=1)
    file = write_csv(
        tmp_path / "p.csv", [*HEADER, "Kassör"], [[*item("o-1", "m1@example.se"), "Eva"]]
    )
    heard: list[str] = []
    summary = purchases.run(factory, file, now=NOW, warn=heard.append)
    assert summary.written == 1
    assert len(heard) == 1
    assert heard[0].startswith("p.csv: the columns 'Kassör' are not read (the fields are order_id")
    done = lojal("import", "purchases", str(file), url=_url(fresh_engine))
    assert done.returncode == 0
    assert "warning: p.csv: the columns 'Kassör' are not read" in done.stderr


# ------------------------------------------------------------------ items 3 and 4: values


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59",
        "0001-01-01T00:00:00+01:00",
        "1899-12-31",
        "3000-01-01T00:00:00+00:00",
    ],
)
def test_a_time_lojal_cannot_compute_with_is_a_rejected_row_naming_the_field(
    fresh_engine: Engine, tmp_path: Path, value: str
) -> None:
    factory = club(fresh_engine, members_=1)
    file = write_csv(
        tmp_path / "p.csv",
        HEADER,
        [item("o-1", "m1@example.se", at=value), item("o-2", "m1@example.se")],
    )
    summary = purchases.run(factory, file, now=NOW)
    assert (summary.written, summary.rejected) == (1, 1)
    [(line, reason)] = reasons(tmp_path / "p.csv.rejects.csv")
    assert line == "2"
    assert reason.startswith(f"occurred_at: {value!r} must be a")
    people = write_csv(
        tmp_path / "m.csv",
        ["email", "enrolled_at", "birth_date"],
        [
            ["a@example.se", value, ""],
            ["b@example.se", "", value[:10]],
            ["c@example.se", AT, "1980-05-01"],
        ],
    )
    done = members.run(factory, people, now=START)
    assert (done.written, done.rejected) == (1, 2)
    refused = reasons(tmp_path / "m.csv.rejects.csv")
    assert refused[0][1].startswith(f"enrolled_at: {value!r} must be a")
    assert refused[1][1].startswith(f"birth_date: {value[:10]!r} must be a")


@pytest.mark.parametrize("value", ["2200-01-01T00:00:00Z", "2999-06-01"])
def test_history_dated_ahead_of_the_clock_is_a_rejected_row(
    fresh_engine: Engine, tmp_path: Path, value: str
) -> None:
    factory = club(fresh_engine, members_=1)
    file = write_csv(
        tmp_path / "p.csv",
        HEADER,
        [item("o-1", "m1@example.se", at=value), item("o-2", "m1@example.se")],
    )
    summary = purchases.run(factory, file, now=NOW)
    assert (summary.written, summary.rejected) == (1, 1)
    [(line, reason)] = reasons(tmp_path / "p.csv.rejects.csv")
    assert line == "2"
    assert reason.startswith("occurred_at: a purchase may be dated at most 5 minutes ahead")


def test_nul_and_undecodable_bytes_are_rejected_rows_naming_the_field(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    factory = club(fresh_engine, members_=2)
    file = tmp_path / "p.csv"
    file.write_bytes(
        (",".join([*HEADER, "note"]) + "\n").encode()
        + b"o-\x001,m1@example.se," + AT.encode() + b",store,s1,K1,,,1,4500,\n"  # line 2
        + b"o-2,m1@example.se," + AT.encode() + b",store,s1,K\x001,,,1,4500,\n"  # line 3
        + b"o-3,m1@example.se," + AT.encode() + b",store,s1,K1,Caf\xed\xa0\x80,,1,4500,\n"
        + b"o-4,m2@exa\x00mple.se," + AT.encode() + b",store,s1,K1,,,1,4500,\n"  # line 5
        + b"o-5,m2@example.se," + AT.encode() + b",store,s1,K1,,,1,4500,n\x00te\n"  # not read
        + b"o-6,m2@example.se," + AT.encode() + b",store,s1,K1,,,1,4500,\n"
    )  # fmt: skip
    summary = purchases.run(factory, file, now=NOW)
    assert (summary.read, summary.written, summary.rejected) == (6, 2, 4)
    rejects = reasons(tmp_path / "p.csv.rejects.csv")
    assert rejects == [
        ("2", "order_id: must not contain a NUL character (\\x00)"),
        ("3", "sku: must not contain a NUL character (\\x00)"),
        (
            "4",
            "name: is not UTF-8 text (byte 0xed); give the file's encoding with --encoding "
            "(e.g. --encoding latin-1)",
        ),
        ("5", "email: must not contain a NUL character (\\x00)"),
    ]
    with transaction(factory, read_only=True) as session:
        assert sorted(session.scalars(select(Purchase.order_id))) == ["o-5", "o-6"]
    people = tmp_path / "m.csv"
    people.write_bytes(b"email,first_name\nanna@example.se,An\x00na\nbo@example.se,Bo\n")
    done = members.run(factory, people, now=START)
    assert (done.written, done.rejected) == (1, 1)
    assert reasons(tmp_path / "m.csv.rejects.csv") == [
        ("2", "first_name: must not contain a NUL character (\\x00)")
    ]
