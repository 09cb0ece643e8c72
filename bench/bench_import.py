"""Bulk import of purchases through the rules into the ledger, side by side with the storage limit.

    .venv/bin/python -m bench.bench_import --purchases 1000000 [--backend sqlite|postgresql|both]
                                           [--members 50000] [--repeat 1] [--baseline-only]

1. Generates a purchases CSV (two lines per purchase, members by email, ~5,000 skus in 7
   categories with fixed prices, ``occurred_at`` across 2025 in time order) in the import format:
   one row per line item, columns ``order_id, email, occurred_at, channel, store_id, sku, name,
   category, quantity, unit_price_minor``, the rows of one order consecutive. Files are cached
   in ``--cache-dir`` by size and seed.
2. Builds a template club per backend (schema, the programme of bench/common.py, ``--members``
   members enrolled through ``lojal.enrolment.enrol``), then for every run copies it into
   a fresh database (SQLite: a file copy; PostgreSQL: ``createdb -T``).
3. Times, each in its own subprocess (wall time, and peak RSS from ``os.wait4``):
   * ``lojal import purchases FILE`` (the product path: rules, ledger, everything);
   * the baseline: the same purchases and lines inserted into the same ``purchases`` and
     ``purchase_lines`` tables with the raw DBAPI cursor's ``executemany``, batches of
     ``--batch`` purchases per transaction, reading the same CSV and resolving e-mails to member
     ids from one dict; no rules, no ledger. That is the storage limit on this machine.
   Runs alternate import / baseline, ``--repeat`` times; the report gives medians and the ratio.

PostgreSQL is a throwaway server from ``tests/pgserver.py`` started with ``durable=True``
(fsync on, synchronous_commit on, full_page_writes on).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import common

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
CATEGORIES = ["coffee", "tea", "bakery", "dairy", "produce", "household", "snacks"]
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)


# ------------------------------------------------------------------ data


def generate_csv(path: Path, purchases: int, members: int, seed: int = 42) -> None:
    rnd = random.Random(seed)
    catalogue = []
    for i in range(1, 5001):
        category = CATEGORIES[rnd.randrange(len(CATEGORIES))]
        price = rnd.choice(
            [rnd.randint(900, 4900), rnd.randint(1900, 14900), rnd.randint(4900, 89900)]
        )
        catalogue.append((f"SKU-{i:05d}", f"{category.title()} article {i}", category, price))
    span = 365 * 24 * 3600
    step = span / purchases
    tmp = path.with_suffix(".part")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for n in range(1, purchases + 1):
            at = YEAR_START + timedelta(seconds=int(n * step))
            occurred = at.isoformat()
            # A few heavy shoppers and a long tail.
            m = int(members * rnd.random() ** 1.5) + 1
            email = common.member_email(min(m, members))
            store = f"store-{rnd.randint(1, 40)}"
            channel = "store" if rnd.random() < 0.8 else "web"
            order_id = f"imp-{n:08d}"
            for _ in range(2):
                sku, name, category, price = catalogue[rnd.randrange(len(catalogue))]
                qty = rnd.choice((1, 1, 1, 2, 3))
                w.writerow(
                    [order_id, email, occurred, channel, store, sku, name, category, qty, price]
                )
    tmp.rename(path)


def csv_for(cache: Path, purchases: int, members: int) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"purchases-{purchases}-m{members}.csv"
    if not path.exists():
        t0 = time.perf_counter()
        generate_csv(path, purchases, members)
        print(f"  generated {path} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return path


# ------------------------------------------------------------------ databases


class Backend:
    name: str

    def fresh(self, label: str) -> str:
        raise NotImplementedError

    def drop(self, url: str) -> None:
        pass

    def describe(self) -> dict[str, str]:
        return {}

    def stop(self) -> None:
        pass


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, cache: Path, workdir: Path, members: int) -> None:
        self.workdir = workdir
        self.template = cache / f"template-m{members}-{_program_tag()}.db"
        if not self.template.exists():
            part = cache / "template-building.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{part}{suffix}").unlink(missing_ok=True)
            common.make_club(f"sqlite:///{part}", workdir, members)
            _checkpoint(part)
            part.rename(self.template)

    def fresh(self, label: str) -> str:
        target = self.workdir / f"{label}.db"
        shutil.copy(self.template, target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _checkpoint(path: Path) -> None:
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()


def _program_tag() -> str:
    """The template club depends on the programme and on the schema (the migrations)."""
    import hashlib

    digest = hashlib.sha256(common.PROGRAM_YAML.encode())
    for migration in sorted((common.ROOT / "src/lojal/db/migrations/versions").glob("*.py")):
        digest.update(migration.read_bytes())
    return digest.hexdigest()[:8]


def copy_rows(source_url: str, target_url: str) -> None:
    """Copy every lojal table's rows from one database into another migrated one, and move the
    target's id sequences past the copied ids."""
    from sqlalchemy import delete, select, text

    import lojal.db.models  # noqa: F401  (every table on Base.metadata)
    from lojal.db.base import Base
    from lojal.db.engine import make_engine

    source, target = make_engine(source_url), make_engine(target_url)
    tables = Base.metadata.sorted_tables
    with source.connect() as src, target.begin() as dst:
        for table in reversed(tables):
            dst.execute(delete(table))
        for table in tables:
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            for lo in range(0, len(rows), 5000):
                dst.execute(table.insert(), rows[lo : lo + 5000])
            if "id" in table.c and rows:
                dst.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
                )
    source.dispose()
    target.dispose()


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, cache: Path, workdir: Path, members: int) -> None:
        sys.path.insert(0, str(common.ROOT))
        from tests import pgserver

        # Enrolling 50,000 members one by one through the service takes minutes on PostgreSQL;
        # instead the SQLite template (built by lojal.enrolment.enrol) is copied row for
        # row into a freshly migrated PostgreSQL database, which is the same state.
        sqlite_template = SQLiteBackend(cache, workdir, members).template
        self.server = pgserver.start(durable=True)
        self.template_url = self.server.create_database("bench_template")
        t0 = time.perf_counter()
        common.cli("db", "upgrade", url=self.template_url)
        copy_rows(f"sqlite:///{sqlite_template}", self.template_url)
        print(
            f"  postgresql template copied from {sqlite_template.name} in "
            f"{time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
        self.count = 0

    def fresh(self, label: str) -> str:
        self.count += 1
        name = f"bench_{label}_{self.count}"
        s = self.server
        s.run(
            str(s.bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(s.port),
            "-U",
            "postgres",
            "-T",
            "bench_template",
            name,
        )
        return s.url_for(name)

    def drop(self, url: str) -> None:
        s = self.server
        s.run(
            str(s.bindir / "dropdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(s.port),
            "-U",
            "postgres",
            url.rsplit("/", 1)[1],
        )

    def describe(self) -> dict[str, str]:
        import psycopg

        out = {}
        with psycopg.connect(self.template_url.replace("+psycopg", "")) as con:
            for setting in (
                "server_version",
                "fsync",
                "synchronous_commit",
                "full_page_writes",
                "wal_level",
                "shared_buffers",
                "max_wal_size",
                "checkpoint_timeout",
            ):
                out[setting] = con.execute(f"SHOW {setting}").fetchone()[0]  # type: ignore[index]
        return out

    def stop(self) -> None:
        self.server.stop()


# ------------------------------------------------------------------ the runs


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants (KiB), from /proc."""
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (OSError, ValueError):
            continue
    return total


def run_child(
    argv: list[str], env: dict[str, str] | None = None, timeout: float = 7200
) -> dict[str, Any]:
    """Run argv; return wall seconds, the peak resident memory (MiB) of the process and its
    worker processes together (sampled every 0.2 s), CPU seconds, and its output."""
    out = tempfile.TemporaryFile()  # noqa: SIM115  (closed below)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    deadline = time.monotonic() + timeout
    peak_kib = 0
    next_sample = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        if time.monotonic() >= next_sample:
            peak_kib = max(peak_kib, _tree_rss_kib(proc.pid))
            next_sample = time.monotonic() + 0.2
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read().decode("utf-8", "replace")
    out.close()
    return {
        "wall": wall,
        "rss_mib": max(peak_kib, usage.ru_maxrss) / 1024,
        "rc": proc.returncode,
        "output": text,
        # the process itself and the workers it waited for (Linux counts them in)
        "cpu": usage.ru_utime + usage.ru_stime,
    }


def counts(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from lojal.db.engine import make_engine

    engine = make_engine(url)
    out = {}
    with engine.connect() as con:
        for table in ("purchases", "purchase_lines", "journal_entries"):
            out[table] = int(con.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
        out["points"] = int(
            con.execute(text("SELECT coalesce(sum(points), 0) FROM purchases")).scalar_one()
        )
    engine.dispose()
    return out


def import_available() -> bool:
    done = subprocess.run(
        [common.LOJAL, "import", "--help"], capture_output=True, text=True, check=False
    )
    return "purchases" in done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--batch", type=int, default=5000, help="purchases per transaction in the baseline"
    )
    parser.add_argument("--baseline-only", action="store_true")
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "lojal-bench-cache"
    )
    parser.add_argument(
        "--import-args",
        default="",
        help="extra arguments for `lojal import purchases` (space separated)",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="lojal-bench-import-"))
    print(f"machine: {common.machine()}")
    data = csv_for(args.cache_dir, args.purchases, args.members)
    print(
        f"file: {data} ({data.stat().st_size / 1e6:.0f} MB, {args.purchases} purchases, "
        f"{2 * args.purchases} lines)"
    )
    do_import = not args.baseline_only and import_available()
    if not do_import and not args.baseline_only:
        print("`lojal import purchases` is not available yet: running the baseline only")
    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report: dict[str, Any] = {
        "machine": common.machine(),
        "purchases": args.purchases,
        "members": args.members,
    }
    try:
        for name in names:
            backend: Backend = (
                SQLiteBackend(args.cache_dir, workdir, args.members)
                if name == "sqlite"
                else PostgresBackend(args.cache_dir, workdir, args.members)
            )
            try:
                described = backend.describe()
                if described:
                    print(f"{name}: {described}")
                report[f"{name}_settings"] = described
                runs: dict[str, list[dict[str, Any]]] = {
                    "import": [],
                    "baseline": [],
                    "baseline+ledger": [],
                }
                for r in range(args.repeat):
                    kinds = (["import"] if do_import else []) + ["baseline", "baseline+ledger"]
                    for kind in kinds:
                        url = backend.fresh(f"{kind}{r}")
                        if kind == "import":
                            argv = [
                                common.LOJAL,
                                "import",
                                "purchases",
                                str(data),
                                "--rejects",
                                str(workdir / f"rejects-{name}-{r}.csv"),
                                *args.import_args.split(),
                            ]
                            res = run_child(argv, env={"LOJAL_DATABASE_URL": url})
                        else:
                            argv = [
                                sys.executable,
                                "-m",
                                "bench.baseline_insert",
                                url,
                                str(data),
                                str(args.batch),
                                *(["--ledger"] if kind == "baseline+ledger" else []),
                            ]
                            res = run_child(argv)
                        if res["rc"] != 0:
                            print(res["output"][-3000:])
                            raise SystemExit(f"{kind} on {name} failed with {res['rc']}")
                        got = counts(url)
                        res["counts"] = got
                        res["rate"] = args.purchases / res["wall"]
                        del res["output"]
                        runs[kind].append(res)
                        print(
                            f"  {name:<10} round {r + 1} {kind:<15} {res['wall']:7.1f} s  "
                            f"{res['rate']:8.0f} purchases/s  peak RSS {res['rss_mib']:6.0f} MiB"
                            f"  cpu {res['cpu']:6.1f} s  {got}",
                            flush=True,
                        )
                        if got["purchases"] != args.purchases:
                            print(
                                f"  WARNING: {got['purchases']} purchases in the database, "
                                f"expected {args.purchases}"
                            )
                        backend.drop(url)
                summary = {}
                for kind, rs in runs.items():
                    if rs:
                        summary[kind] = {
                            "wall_s": common.median([x["wall"] for x in rs]),
                            "purchases_per_s": common.median([x["rate"] for x in rs]),
                            "peak_rss_mib": max(x["rss_mib"] for x in rs),
                            "runs": len(rs),
                        }
                if "import" in summary:
                    rate = summary["import"]["purchases_per_s"]
                    summary["ratio"] = rate / summary["baseline"]["purchases_per_s"]
                    summary["ratio_to_ledger_rows"] = (
                        rate / summary["baseline+ledger"]["purchases_per_s"]
                    )
                report[name] = summary
                print(f"{name}: {json.dumps(summary, indent=2)}")
            finally:
                backend.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results = common.ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"import-{args.purchases}.json").write_text(
        json.dumps(report, indent=2), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
