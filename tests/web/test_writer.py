"""The write path under concurrency, through the real app on a database whose commits are
real: requests that arrive together are grouped into one transaction, yet each answers for
itself; an Idempotency-Key does its work once; SQLite's write lock held by another process is
waited out without stalling the server."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from lojal.activities.models import Purchase
from lojal.app import create_app
from lojal.config import Settings
from lojal.db.session import make_session_factory, transaction
from lojal.ledger import queries as ledger_queries
from lojal.ledger import service as ledger
from lojal.staff import service as staff
from tests.conftest import PEPPER, START, apply_program, migrated_engine, new_database_url
from tests.factories import make_member, purchase_payload

CONCURRENT = 20


class Live:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.factory = make_session_factory(engine)
        url = engine.url.render_as_string(hide_password=False)
        self.app = create_app(Settings(database_url=url, environment="test", api_key_pepper=PEPPER))
        with transaction(self.factory) as session:
            self.config = apply_program(session, START)
            _, self.key = staff.create_key(
                session, name="live", kind="admin", pepper=PEPPER, now=START
            )

    def headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.key}"}
        if idempotency_key is not None:
            h["Idempotency-Key"] = idempotency_key
        return h

    def together(self, requests: list[tuple[str, str, Any, str | None]]) -> list[httpx.Response]:
        """Send (method, path, json, idempotency key) requests all at once."""

        async def send() -> list[httpx.Response]:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://lojal") as client:
                return await asyncio.gather(
                    *(
                        client.request(
                            method, f"/api/v1{path}", json=body, headers=self.headers(key)
                        )
                        for method, path, body, key in requests
                    )
                )

        return asyncio.run(send())

    def member_with_points(self, points: int) -> int:
        with transaction(self.factory) as session:
            from lojal.clock import FixedClock

            member_id = make_member(session, FixedClock(START)).id
            if not points:
                return member_id
            ledger.adjust(
                session,
                member_id=member_id,
                points=points,
                reason="start",
                key=f"grant:{member_id}",
                now=START,
                config=self.config,
            )
        return member_id


@pytest.fixture
def live(fresh_engine: Engine) -> Iterator[Live]:
    live = Live(fresh_engine)
    yield live
    live.app.state.writer.close()
    live.app.state.engine.dispose()


def test_twenty_concurrent_spends_over_http_never_overdraw(live: Live) -> None:
    member = live.member_with_points(100)
    answers = live.together(
        [("POST", f"/members/{member}/points/spend", {"points": 10}, None)] * CONCURRENT
    )
    assert sorted(a.status_code for a in answers) == [200] * 10 + [409] * 10
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {"InsufficientPoints"}
    with transaction(live.factory, read_only=True) as session:
        assert ledger_queries.balance(session, member).available == 0
        assert ledger_queries.verify(session) == []


def test_concurrent_requests_with_one_key_do_the_work_once(live: Live) -> None:
    member = live.member_with_points(0)
    body = purchase_payload("same-order-key", member_id=member)
    answers = live.together([("POST", "/purchases", body, "one-key")] * CONCURRENT)
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") != "true" for a in answers) == 1
    with transaction(live.factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Purchase)) == 1
        assert ledger_queries.balance(session, member).pending == 100


def test_one_bad_request_does_not_undo_the_others_in_its_group(live: Live) -> None:
    member = live.member_with_points(0)
    good = [
        ("POST", "/purchases", purchase_payload(f"good-{i}", member_id=member), f"k-{i}")
        for i in range(8)
    ]
    bad = [
        ("POST", "/returns", {"return_id": "r-1", "order_id": "no-such-order"}, "k-bad-1"),
        ("POST", "/purchases", purchase_payload("bad-member", member_id=10**9), "k-bad-2"),
        ("POST", "/purchases", purchase_payload("good-0", member_id=member), None),
    ]
    answers = live.together([*good[:4], *bad, *good[4:]])
    statuses = [a.status_code for a in answers]
    assert statuses[1:4] == [201] * 3
    assert statuses[4:6] == [404, 422]
    assert answers[5].json()["field"] == "member_id"
    # the order id good-0, twice: recorded once, whichever came first
    assert sorted([statuses[0], statuses[6]]) == [200, 201]
    assert statuses[7:] == [201] * 4
    with transaction(live.factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Purchase)) == 8
        assert ledger_queries.balance(session, member).pending == 800
        assert ledger_queries.verify(session) == []
    # the refusals are the keys' answers too
    again = live.together([bad[0], bad[1]])
    assert [a.status_code for a in again] == [404, 422]
    assert all(a.headers.get("Idempotent-Replayed") == "true" for a in again)


def test_a_key_longer_than_255_characters_is_422_naming_the_header(live: Live) -> None:
    member = live.member_with_points(0)
    body = purchase_payload(member_id=member)
    (answer,) = live.together([("POST", "/purchases", body, "k" * 256)])
    assert answer.status_code == 422
    assert answer.json()["field"] == "Idempotency-Key"


@pytest.fixture
def live_sqlite(request: pytest.FixtureRequest) -> Iterator[Live]:
    live = Live(migrated_engine(new_database_url("sqlite", request)))
    yield live
    live.app.state.writer.close()
    live.engine.dispose()


def test_the_writer_waits_out_another_process_write_lock(live_sqlite: Live) -> None:
    """SQLite's write lock is the whole database's: an import or `lojal jobs run` holds it
    for a batch. The writer backs off and tries again; the server keeps answering."""
    live = live_sqlite
    member = live.member_with_points(0)
    path = live.engine.url.database
    assert path is not None
    held = threading.Event()
    released_at: list[float] = []

    def hold_the_lock() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(1.0)
        released_at.append(time.monotonic())
        other.execute("ROLLBACK")
        other.close()

    async def scenario() -> tuple[httpx.Response, float, float]:
        transport = httpx.ASGITransport(app=live.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lojal") as client:
            holder = threading.Thread(target=hold_the_lock)
            holder.start()
            await asyncio.to_thread(held.wait)
            write = asyncio.create_task(
                client.post(
                    "/api/v1/purchases",
                    json=purchase_payload(member_id=member),
                    headers=live.headers(),
                )
            )
            await asyncio.sleep(0.05)
            health = await client.get("/healthz")
            health_at = time.monotonic()
            assert health.status_code == 200
            answer = await write
            holder.join()
            return answer, health_at, time.monotonic()

    answer, health_at, answered_at = asyncio.run(scenario())
    assert answer.status_code == 201
    # the write was answered after the lock was let go, the health check while it was held
    assert health_at < released_at[0] <= answered_at
