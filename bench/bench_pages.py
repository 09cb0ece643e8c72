"""Render time of each main page on the demo club (``lojal demo``, 2,000 members, a year of
activity), through the app in process: staff dashboard, member search, member 360, programme
settings, the segments and the segment builder, and the member portal. The dashboard's first
render (its IFRS 15 figures read from the ledger) is reported apart from the renders after it,
which find those figures kept until the ledger moves. Then the render right after the ledger
moves (one adjustment before each), side by side: reading the whole ledger (nothing stored
yet) and reading the closed months stored by the ``ledger_months`` job with the open month
live. Prints the median and the worst of ``--repeat`` renders."""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from fastapi.testclient import TestClient
    from sqlalchemy import delete

    from lojal.app import create_app
    from lojal.clock import SystemClock
    from lojal.config import Settings
    from lojal.db.engine import make_engine
    from lojal.db.migrate import upgrade
    from lojal.db.session import make_session_factory, transaction
    from lojal.demo.generator import busiest_member, generate
    from lojal.ledger import liability
    from lojal.ledger import service as ledger
    from lojal.ledger import tasks as ledger_tasks
    from lojal.ledger.models import LedgerMonth, LedgerMonthMark
    from lojal.members.models import Member
    from lojal.pages import accounts, portal_access
    from lojal.program import service as program_service

    folder = Path(tempfile.mkdtemp(prefix="lojal-bench-pages-"))
    try:
        url = f"sqlite:///{folder / 'lojal.db'}"
        engine = make_engine(url)
        upgrade(engine)
        factory = make_session_factory(engine)
        now = SystemClock().now()
        generate(factory, members=args.members, seed=1, now=now, pepper="bench")
        password = "bench password 123"
        with transaction(factory) as session:
            accounts.add_user(
                session, email="owner@example.com", role="owner", password=password, now=now
            )
            member_id = busiest_member(session)
            assert member_id is not None
            member = session.get(Member, member_id)
            assert member is not None
            email = member.identity("email")
            assert email is not None
            link = portal_access.request_link(
                session, email=email, public_url="https://club", now=now
            )
            assert link is not None
        engine.dispose()
        app = create_app(Settings(database_url=url, environment="development"))
        with TestClient(app) as staff, TestClient(app) as visitor:
            form = staff.get("/staff/sign-in").text
            token = re.search(r'name="csrf" value="([^"]+)"', form)
            assert token
            staff.post(
                "/staff/sign-in",
                data={"email": "owner@example.com", "password": password, "csrf": token[1]},
                follow_redirects=False,  # so that the dashboard's first render is timed below
            )
            visitor.get("/portal/link/" + link.url.rsplit("/", 1)[1])
            pages = [
                ("dashboard", staff, "/staff/"),
                ("members search", staff, f"/staff/members?q={email}"),
                ("member 360", staff, f"/staff/members/{member_id}"),
                ("programme", staff, "/staff/program"),
                ("segments", staff, "/staff/segments"),
                ("segment builder", staff, "/staff/segments/new"),
                ("portal home", visitor, "/portal/"),
            ]
            print(f"demo club: {args.members} members; {args.repeat} renders each")
            print(f"{'page':<16} {'median ms':>10} {'worst ms':>10}")
            started = time.perf_counter()
            assert staff.get("/staff/").status_code == 200
            print(f"dashboard, first render: {(time.perf_counter() - started) * 1000:.1f} ms")
            for name, client, path in pages:
                client.get(path)  # warm
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    answer = client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code)
                print(f"{name:<16} {statistics.median(times):>10.1f} {max(times):>10.1f}")

            moves = iter(range(10**6))

            def after_a_move() -> float:
                with transaction(factory) as session:
                    ledger.adjust(
                        session,
                        member_id=member_id,
                        points=1,
                        reason="bench",
                        key=f"adjust:bench:{next(moves)}",
                        now=SystemClock().now(),
                        config=program_service.current(session),
                    )
                started = time.perf_counter()
                assert staff.get("/staff/").status_code == 200
                return (time.perf_counter() - started) * 1000

            def stored(on: bool) -> None:
                with transaction(factory) as session:
                    session.execute(delete(LedgerMonth))
                    session.execute(delete(LedgerMonthMark))
                    if on:
                        ledger_tasks.store(session, now=SystemClock().now())

            print("dashboard right after the ledger moves (side by side):")
            results: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(args.repeat):
                for on in (False, True):
                    stored(on)
                    results[on].append(after_a_move())
            whole, months = (statistics.median(results[k]) for k in (False, True))
            print(f"{'whole ledger':<16} {whole:>10.1f} {max(results[False]):>10.1f}")
            print(f"{'stored months':<16} {months:>10.1f} {max(results[True]):>10.1f}")
            print(f"ratio whole / stored: {whole / months:.2f}")
            # the liability read alone (what the stored months replace), side by side
            with transaction(factory, read_only=True) as session:
                config = program_service.current(session)
                question = {
                    "until": SystemClock().now().date(),
                    "timezone": config.timezone,
                    "currency": config.currency,
                    "point_value": config.point_value,
                }
                reads: dict[str, list[float]] = {"read": [], "read_stored": []}
                for _ in range(args.repeat):
                    for name, reader in (
                        ("read", liability.read),
                        ("read_stored", liability.read_stored),
                    ):
                        started = time.perf_counter()
                        reader(session, **question)  # type: ignore[arg-type]
                        reads[name].append((time.perf_counter() - started) * 1000)
            full, part = (statistics.median(reads[k]) for k in ("read", "read_stored"))
            print(f"liability.read        {full:>10.1f} {max(reads['read']):>10.1f}")
            print(f"liability.read_stored {part:>10.1f} {max(reads['read_stored']):>10.1f}")
            print(f"ratio read / read_stored: {full / part:.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
