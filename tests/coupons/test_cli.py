"""``lojal coupons`` and ``lojal rewards`` on a real database: a campaign from a file, a batch
generated (and carried on), exported, checked; a reward from a file, its partner pool filled
from a text file, redeemed for a member; an empty pool refuses with its domain error."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from lojal.cli import app
from lojal.clock import FixedClock
from lojal.coupons import codes, queries
from lojal.coupons.models import CouponCode
from lojal.db.session import make_session_factory, transaction
from lojal.rewards.errors import PartnerPoolEmpty
from tests.conftest import START, apply_program
from tests.entry import run_lojal
from tests.rewards.helpers import member_with


def test_coupons_from_the_command_line(backend: str, fresh_engine: Engine, tmp_path: Path) -> None:
    queries.forget_catalogue()
    url = fresh_engine.url.render_as_string(hide_password=False)
    factory = make_session_factory(fresh_engine)
    with transaction(factory) as session:
        apply_program(session, START)
    runner = CliRunner()
    spec = tmp_path / "spring.yaml"
    spec.write_text(
        "name: Spring\nhashtag: vår26\ndiscount_kind: percent\npercent: 15\n"
        "code_prefix: VR\nuses_per_code: 1\n",
        encoding="utf-8",
    )
    created = runner.invoke(app, ["coupons", "create", str(spec), "--database-url", url])
    assert created.exit_code == 0, created.output
    campaign = json.loads(created.output)
    assert (campaign["hashtag"], campaign["percent"]) == ("#vår26", 15)
    out = tmp_path / "codes.csv"
    args = ["coupons", "generate", str(campaign["id"]), "1200", "--key", "print-1"]
    generated = runner.invoke(app, [*args, "--out", str(out), "--database-url", url])
    assert generated.exit_code == 0, generated.output
    assert "1200 of 1200 codes" in generated.output
    again = runner.invoke(app, [*args, "--database-url", url])
    assert "1200 of 1200 codes" in again.output  # a complete batch is left as it is
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len({r["code"] for r in rows}) == 1200
    assert all(codes.is_well_formed(r["code"]) and r["code"].startswith("VR") for r in rows)
    with transaction(factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(CouponCode)) == 1200
    ok = runner.invoke(
        app, ["coupons", "validate", rows[0]["display"], "--total", "10000", "--database-url", url]
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["discount_minor"] == 1_500
    runner.invoke(app, ["coupons", "disable", rows[0]["code"], "--database-url", url])
    refused = runner.invoke(
        app, ["coupons", "validate", rows[0]["code"], "--total", "10000", "--database-url", url]
    )
    assert refused.exit_code == 3
    assert json.loads(refused.output)["reason"] == "CouponDisabled"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\ndiscount_kind: percent\npercent: 150\n", encoding="utf-8")
    wrong = runner.invoke(app, ["coupons", "create", str(bad), "--database-url", url])
    assert wrong.exit_code == 2
    assert "percent" in wrong.output


def test_rewards_from_the_command_line(backend: str, fresh_engine: Engine, tmp_path: Path) -> None:
    queries.forget_catalogue()
    url = fresh_engine.url.render_as_string(hide_password=False)
    factory = make_session_factory(fresh_engine)
    with transaction(factory) as session:
        config = apply_program(session, START)
        member = member_with(session, FixedClock(START), config, 1_000).id
    runner = CliRunner()
    spec = tmp_path / "fuel.yaml"
    spec.write_text(
        "code: fuel\nname: 50 öre off a litre\nkind: partner\npoints_price: 400\n", "utf-8"
    )
    assert (
        runner.invoke(app, ["rewards", "create", str(spec), "--database-url", url]).exit_code == 0
    )
    redeem = ["rewards", "redeem", "fuel", str(member), "--database-url", url]
    empty = runner.invoke(app, [*redeem, "--reference", "desk-1"])
    assert isinstance(empty.exception, PartnerPoolEmpty)
    pool = tmp_path / "pool.txt"
    pool.write_text("OK-1\nOK-2\n\nOK-1\n", encoding="utf-8")
    imported = runner.invoke(
        app, ["rewards", "import-codes", "fuel", str(pool), "--database-url", url]
    )
    assert imported.exit_code == 0, imported.output
    assert "imported 2 codes, skipped 1 duplicates; 2 in the pool" in imported.output
    done = runner.invoke(app, [*redeem, "--reference", "desk-1", "--channel", "store"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["partner_code"] == "OK-1"
    listed = runner.invoke(app, ["rewards", "list", "--database-url", url])
    assert "fuel" in listed.output
    offers = runner.invoke(app, ["rewards", "affordable", str(member), "--database-url", url])
    assert [o["code"] for o in json.loads(offers.output)] == ["fuel"]


def test_public_codes_and_issued_codes_from_the_real_command(
    backend: str, fresh_engine: Engine, tmp_path: Path
) -> None:
    """The command in its own process imports only the features it uses: the coupons' foreign
    keys to members must still find their table (they failed with NoReferencedTableError)."""
    url = fresh_engine.url.render_as_string(hide_password=False)
    with transaction(make_session_factory(fresh_engine)) as session:
        config = apply_program(session, START)
        member = member_with(session, FixedClock(START), config, 0).id
    spec = tmp_path / "summer.yaml"
    spec.write_text(
        "name: Summer\ndiscount_kind: percent\npercent: 10\npublic_code: SOMMAR26\n", "utf-8"
    )
    created = run_lojal("coupons", "create", str(spec), "--database-url", url)
    assert created.returncode == 0, created.stderr
    campaign = json.loads(created.stdout)
    assert campaign["public_code"] == "SOMMAR26"
    issue = ["coupons", "issue", str(campaign["id"]), "--reference", "desk-1"]
    issued = run_lojal(*issue, "--member", str(member), "--database-url", url)
    assert issued.returncode == 0, issued.stderr
    assert codes.is_well_formed(codes.normalise(issued.stdout.strip()))
