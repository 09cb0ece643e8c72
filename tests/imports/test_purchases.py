"""`lojal import purchases`: good rows kept, bad rows reported with line and field, re-runs
add nothing, an import killed half-way and run again ends with each order once, and the bulk
path gives exactly what record_purchase gives."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement, Engine, select
from sqlalchemy.orm import Session, sessionmaker

from lojal import enrolment
from lojal.activities import awarding
from lojal.activities import bulk as bulk_path
from lojal.activities import service as activities
from lojal.activities.batch import BulkPurchase
from lojal.activities.bulk import import_purchases
from lojal.activities.events import LineFacts
from lojal.activities.models import Purchase, PurchaseLine
from lojal.activities.schemas import PurchaseCreate
from lojal.db.session import transaction
from lojal.imports import purchases
from lojal.ledger import queries as ledger_queries
from lojal.ledger.models import JournalEntry, PointBalance, PointLot, Posting
from lojal.members.schemas import MemberCreate
from lojal.rules.models import RuleAward
from tests.conftest import START, migrated_engine, new_database_url
from tests.imports.helpers import club, counts, read_csv, write_csv

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
NOW = START + timedelta(days=30)


def order_rows(n: int, members: int, start: int = 1) -> list[list[object]]:
    rows: list[list[object]] = []
    for i in range(start, start + n):
        at = (START + timedelta(hours=i)).isoformat()
        email = f"m{i % members + 1}@example.se"
        rows.append([f"o-{i}", email, at, "store", "s1", "K1", "Kaffe", "coffee", 2, 4500])
        rows.append([f"o-{i}", email, at, "store", "s1", "B1", "Bulle", "bakery", 1, 3500])
    return rows


def test_bad_rows_are_rejected_with_line_and_field_and_good_rows_kept(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    factory = club(fresh_engine, members_=3)
    rows = order_rows(3, 3)
    rows.insert(
        2, ["bad-qty", "m1@example.se", START.isoformat(), "store", "", "K1", "", "", "two", 100]
    )  # line 4
    rows.append(
        ["bad-mail", "not-an-email", START.isoformat(), "store", "", "K1", "", "", 1, 100]
    )  # line 9
    rows.append(["bad-date", "m1@example.se", "yesterday", "store", "", "K1", "", "", 1, 100])
    rows.append(["no-sku", "m1@example.se", "2026-03-01", "web", "", "", "", "", 1, 100])
    file = write_csv(tmp_path / "p.csv", HEADER, rows)
    summary = purchases.run(factory, file, now=NOW)
    assert (summary.read, summary.written, summary.skipped, summary.rejected) == (10, 6, 0, 4)
    rejects = read_csv(tmp_path / "p.csv.rejects.csv")
    assert [(r["line"], r["reason"].split(":")[0]) for r in rejects] == [
        ("4", "quantity"),
        ("9", "email"),
        ("10", "occurred_at"),
        ("11", "sku"),
    ]
    assert rejects[0]["order_id"] == "bad-qty"
    assert counts(factory)["purchases"] == 3
    with transaction(factory, read_only=True) as session:
        assert ledger_queries.verify(session) == []


def test_rerunning_the_same_file_adds_nothing(fresh_engine: Engine, tmp_path: Path) -> None:
    factory = club(fresh_engine, members_=5)
    extra = [
        "unmatched-1",
        "new@example.se",
        START.isoformat(),
        "web",
        "",
        "K1",
        "",
        "coffee",
        1,
        900,
    ]
    file = write_csv(tmp_path / "p.csv", HEADER, [*order_rows(40, 5), extra])
    first = purchases.run(factory, file, now=NOW, batch_size=7)
    assert (first.written, first.rejected) == (81, 0)
    before = counts(factory)
    again = purchases.run(factory, file, now=NOW, batch_size=7)
    assert (again.read, again.written, again.skipped, again.rejected) == (81, 0, 81, 0)
    assert counts(factory) == before
    with transaction(factory, read_only=True) as session:
        unmatched = session.scalar(select(Purchase).where(Purchase.order_id == "unmatched-1"))
        assert unmatched is not None
        assert unmatched.member_id is None
        assert (unmatched.identity_kind, unmatched.identity_value) == ("email", "new@example.se")


def test_column_mapping(fresh_engine: Engine, tmp_path: Path) -> None:
    factory = club(fresh_engine, members_=1)
    file = write_csv(
        tmp_path / "kvitton.csv",
        ["Kvitto", "E-post", "Tid", "Artikel", "Pris"],
        [
            ["k-1", "M1@Example.se", "2026-03-02", "K1", "45.50"],
            ["k-1", "M1@Example.se", "2026-03-02", "K2", "10"],
        ],
    )
    summary = purchases.run(
        factory,
        file,
        now=NOW,
        mapping={
            "order_id": "Kvitto",
            "email": "E-post",
            "occurred_at": "Tid",
            "sku": "Artikel",
            "unit_price": "Pris",
        },
    )
    assert (summary.written, summary.rejected) == (2, 0)
    with transaction(factory, read_only=True) as session:
        row = session.scalar(select(Purchase).where(Purchase.order_id == "k-1"))
        assert row is not None
        assert row.member_id is not None
        assert row.total_minor == 5550
        # a date alone is midnight in Stockholm
        assert row.occurred_at == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.mark.parametrize("workers", [1, 2])
def test_killed_half_way_and_run_again_ends_with_each_row_once(
    fresh_engine: Engine, tmp_path: Path, workers: int
) -> None:
    factory = club(fresh_engine, members_=10)
    n = 400
    file = write_csv(tmp_path / "p.csv", HEADER, order_rows(n, 10))
    lojal = str(Path(sys.executable).parent / "lojal")
    env = {**os.environ, "LOJAL_DATABASE_URL": _url(fresh_engine)}
    proc = subprocess.Popen(
        [
            lojal,
            "import",
            "purchases",
            str(file),
            "--batch-size",
            "25",
            "--pause",
            "0.5",
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while counts(factory)["purchases"] < 25 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # workers notice that their parent is gone and stop (a batch in flight commits whole)
    half, settled = -1, counts(factory)["purchases"]
    while half != settled and time.monotonic() < deadline:
        time.sleep(1.5)
        half, settled = settled, counts(factory)["purchases"]
    assert 25 <= half < n
    # and every process of the killed import ends: none is left holding the database
    while _processes_of(env["LOJAL_DATABASE_URL"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_of(env["LOJAL_DATABASE_URL"]) == []
    done = subprocess.run(
        [lojal, "import", "purchases", str(file)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"skipped (already there) {half * 2}" in done.stdout
    after = counts(factory)
    assert (after["purchases"], after["lines"], after["entries"], after["lots"]) == (n, 2 * n, n, n)
    with transaction(factory, read_only=True) as session:
        assert ledger_queries.verify(session) == []


def _processes_of(url: str) -> list[int]:
    """The processes whose environment names this database (the import's and its workers')."""
    wanted = f"LOJAL_DATABASE_URL={url}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if wanted in environ.split(b"\0"):
            found.append(int(proc.name))
    return found


# ------------------------------------------------------------------ bulk = one by one


def generated(seed: int, n: int, members: int, *, repeated: bool = False) -> list[BulkPurchase]:
    """Purchases with varied baskets, or (``repeated``) a few baskets again and again, which
    the bulk path's award cache serves."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        lines = (
            tuple(
                LineFacts.of(
                    sku=f"S{rnd.randint(1, 9)}",
                    quantity=rnd.randint(1, 3),
                    unit_price_minor=rnd.choice([900, 4500, 12900, 25000]),
                    category=rnd.choice(["coffee", "bakery", None]),
                )
                for _ in range(rnd.randint(1, 3))
            )
            if not repeated
            else rnd.choice(
                [
                    (LineFacts.of(sku="K1", unit_price_minor=4500, category="coffee"),),
                    (
                        LineFacts.of(
                            sku="B1", unit_price_minor=35000, category="bakery", quantity=1
                        ),
                        LineFacts.of(sku="K1", unit_price_minor=4500, category="coffee"),
                    ),
                ]
            )
        )
        who = rnd.randint(1, members + 2)  # some are not members yet
        out.append(
            BulkPurchase(
                order_id=f"g-{i}",
                occurred_at=START + timedelta(hours=7 * i + rnd.randint(0, 5)),
                email=f"m{who}@example.se",
                channel=rnd.choice(["store", "web"]),
                lines=lines,
            )
        )
    return out


def snapshot(factory: sessionmaker[Session]) -> dict[str, object]:
    with transaction(factory, read_only=True) as s:
        return {
            "purchases": sorted(
                s.execute(
                    select(
                        Purchase.order_id,
                        Purchase.member_id,
                        Purchase.identity_value,
                        Purchase.points,
                        Purchase.order_points,
                        Purchase.total_minor,
                        Purchase.occurred_at,
                    )
                ).all()
            ),
            "lines": sorted(
                s.execute(
                    select(
                        Purchase.order_id,
                        PurchaseLine.line_no,
                        PurchaseLine.points,
                        PurchaseLine.total_minor,
                    ).join(Purchase)
                ).all()
            ),
            "entries": sorted(
                s.execute(
                    select(
                        Purchase.order_id,
                        JournalEntry.points,
                        JournalEntry.explanation,
                        JournalEntry.effective_at,
                        JournalEntry.detail,
                    ).join(JournalEntry, JournalEntry.key == "purchase:" + _id_text())
                ).all(),
                key=repr,
            ),
            "lots": sorted(
                s.execute(
                    select(
                        PointLot.source,
                        PointLot.member_id,
                        PointLot.points,
                        PointLot.state,
                        PointLot.earned_at,
                        PointLot.available_at,
                        PointLot.expires_at,
                    )
                ).all()
            ),
            "postings": sorted(
                s.execute(select(Posting.member_id, Posting.account, Posting.amount)).all()
            ),
            "balances": sorted(
                s.execute(
                    select(
                        PointBalance.member_id,
                        PointBalance.pending,
                        PointBalance.available,
                        PointBalance.lifetime_earned,
                    )
                ).all()
            ),
            "usage": sorted(
                s.execute(
                    select(
                        RuleAward.member_id,
                        RuleAward.rule_id,
                        RuleAward.points,
                        RuleAward.awarded_at,
                    )
                ).all()
            ),
            "problems": ledger_queries.verify(s),
        }


def _id_text() -> ColumnElement[str]:
    from sqlalchemy import String, cast

    return cast(Purchase.id, String)


@pytest.mark.parametrize("repeated", [False, True], ids=["varied", "repeated-baskets"])
def test_bulk_path_writes_what_record_purchase_writes(
    fresh_engine: Engine, backend: str, request: pytest.FixtureRequest, repeated: bool
) -> None:
    """Batches of thirty against one purchase per call (``record_purchase``, a batch of one):
    both take the same path, so this checks that batching changes nothing. That activity
    credited at enrolment gets what the live path gives is the test after this one."""
    data = generated(7, 120 if repeated else 80, 6, repeated=repeated)
    bulk = club(fresh_engine, members_=6)
    other = migrated_engine(new_database_url(backend, request))
    try:
        one_by_one = club(other, members_=6)
        with transaction(one_by_one) as session:
            for p in data:
                activities.record_purchase(
                    session,
                    data=PurchaseCreate(
                        order_id=p.order_id,
                        email=p.email,
                        channel=p.channel,
                        occurred_at=p.occurred_at,
                        lines=[
                            {
                                "sku": li.sku,
                                "quantity": li.quantity,
                                "unit_price_minor": li.unit_price_minor,
                                "category": li.category,
                            }
                            for li in p.lines
                        ],
                    ),
                    now=NOW,
                )
        for start in range(0, len(data), 30):  # batches: state carries across them
            with transaction(bulk) as session:
                import_purchases(session, data[start : start + 30], NOW)
        if repeated:
            assert any(cache.hits for _, cache in awarding._award_caches.values())
        expected = snapshot(one_by_one)
        assert expected["problems"] == []
        usage = expected["usage"]
        assert isinstance(usage, list)
        assert any(u for u in usage)
        assert snapshot(bulk) == expected
    finally:
        other.dispose()


def _as_credited(shot: dict[str, object]) -> dict[str, object]:
    """A snapshot without the identity a purchase was kept under while it waited (a live
    purchase of a member keeps none; a credited one keeps the identity it came with)."""
    purchases = shot["purchases"]
    assert isinstance(purchases, list)
    return {**shot, "purchases": [(*row[:2], *row[3:]) for row in purchases]}


def test_purchases_credited_at_enrolment_get_what_live_purchases_get(
    fresh_engine: Engine, backend: str, request: pytest.FixtureRequest
) -> None:
    """The same purchases, recorded for members (live) or recorded before the members
    enrolled and credited at their enrolment: the same points per line and per purchase, the
    same entries and lots, the same caps used, the same first-purchase bonus."""
    data = generated(13, 90, 6)
    live = club(fresh_engine, members_=6)
    other = migrated_engine(new_database_url(backend, request))
    try:
        credited = club(other)
        for start in range(0, len(data), 30):
            with transaction(live) as session:
                import_purchases(session, data[start : start + 30], NOW)
            with transaction(credited) as session:
                result = import_purchases(session, data[start : start + 30], NOW)
                assert result.points == 0  # nobody is a member yet
        with transaction(credited) as session:
            for i in range(1, 7):
                enrolment.enrol(
                    session,
                    data=MemberCreate(email=f"m{i}@example.se", channel="store"),
                    now=NOW,
                )
        expected = snapshot(live)
        assert expected["problems"] == []
        assert expected["usage"]  # the cap was used
        entries_ = expected["entries"]
        assert isinstance(entries_, list)
        welcomed = [e for e in entries_ if "welcome" in str(e.detail)]
        assert len(welcomed) == 6  # one first-purchase bonus per member
        assert _as_credited(snapshot(credited)) == _as_credited(expected)
    finally:
        other.dispose()


# ------------------------------------------------------------------ several workers


def _as_csv(path: Path, data: list[BulkPurchase]) -> Path:
    rows: list[list[object]] = []
    for p in data:
        for li in p.lines:
            rows.append(
                [
                    p.order_id,
                    p.email,
                    p.occurred_at.isoformat(),
                    p.channel,
                    "",
                    li.sku,
                    "",
                    li.category or "",
                    li.quantity,
                    li.unit_price_minor,
                ]
            )
    return write_csv(path, HEADER, rows)


def test_workers_write_what_one_process_writes(
    fresh_engine: Engine, backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Split by member over three processes, in small batches that interleave, the import
    gives the very same purchases, points, lots, caps and balances as one process."""
    file = _as_csv(tmp_path / "p.csv", generated(11, 150, 8))
    now = START + timedelta(days=60)  # after the last purchase: history is never ahead
    parallel = club(fresh_engine, members_=8)
    other = migrated_engine(new_database_url(backend, request))
    try:
        single = club(other, members_=8)
        one = purchases.run(single, file, now=now, batch_size=7)
        three = purchases.run(parallel, file, now=now, batch_size=7, workers=3)
        assert (three.read, three.written, three.skipped, three.rejected) == (
            one.read,
            one.written,
            one.skipped,
            one.rejected,
        )
        assert three.extra == one.extra
        expected = snapshot(single)
        assert expected["problems"] == []
        assert snapshot(parallel) == expected
        again = purchases.run(parallel, file, now=now, batch_size=7, workers=3)
        assert (again.written, again.skipped) == (0, one.read)
    finally:
        other.dispose()


def test_workers_report_bad_rows_in_line_order(fresh_engine: Engine, tmp_path: Path) -> None:
    factory = club(fresh_engine, members_=3)
    rows = order_rows(6, 3)
    rows.insert(
        2, ["bad-qty", "m1@example.se", START.isoformat(), "store", "", "K1", "", "", "x", 1]
    )
    rows.append(["bad-mail", "not-an-email", START.isoformat(), "store", "", "K1", "", "", 1, 100])
    rows.insert(0, ["no-sku", "m2@example.se", "2026-03-01", "web", "", "", "", "", 1, 100])
    file = write_csv(tmp_path / "p.csv", HEADER, rows)
    summary = purchases.run(factory, file, now=NOW, batch_size=2, workers=2)
    assert (summary.read, summary.written, summary.rejected) == (15, 12, 3)
    rejects = read_csv(tmp_path / "p.csv.rejects.csv")
    assert [(r["line"], r["reason"].split(":")[0]) for r in rejects] == [
        ("2", "sku"),
        ("5", "quantity"),
        ("16", "email"),
    ]


def test_a_batch_prepared_from_a_stale_read_is_not_written(fresh_engine: Engine) -> None:
    """What a worker read outside the write lock is checked under it: here the member bought
    meanwhile, so the batch's "first purchase" bonus would be wrong — it is not written."""
    factory = club(fresh_engine, members_=2)

    def bought(order_id: str) -> BulkPurchase:
        return BulkPurchase(
            order_id=order_id,
            occurred_at=START,
            email="m1@example.se",
            lines=(LineFacts.of("K1", 4500, category="coffee"),),
        )

    with transaction(factory, read_only=True) as session:
        stale = bulk_path.prepare(session, [bought("a")], NOW)
    assert stale.recorded[0].first_purchase
    with transaction(factory) as session:
        import_purchases(session, [bought("b")], NOW)  # another writer: m1 buys meanwhile
    with transaction(factory) as session:
        assert bulk_path.apply(session, stale, verify=True) is None
    with transaction(factory, read_only=True) as session:
        fresh = bulk_path.prepare(session, [bought("a")], NOW)
    assert not fresh.recorded[0].first_purchase
    with transaction(factory) as session:
        assert bulk_path.apply(session, fresh, verify=True) is not None
    assert counts(factory)["purchases"] == 2
