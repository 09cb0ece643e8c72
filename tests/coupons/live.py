"""The real app on a database whose commits are real, called over ASGI by clients that each
have their own API key and address (concurrency and brute-force tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine

from lojal.app import create_app
from lojal.clock import FixedClock
from lojal.config import Settings
from lojal.db.session import make_session_factory, transaction
from lojal.staff import service as staff
from tests.conftest import PEPPER, START, apply_program

T = TypeVar("T")


class Live:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.factory = make_session_factory(engine)
        self.clock = FixedClock(START)
        url = engine.url.render_as_string(hide_password=False)
        settings = Settings(database_url=url, environment="test", api_key_pepper=PEPPER)
        self.app = create_app(settings, clock=self.clock)
        with transaction(self.factory) as session:
            self.config = apply_program(session, START)
            self.keys = {
                name: staff.create_key(
                    session, name=name, kind=kind, store_id=store, pepper=PEPPER, now=START
                )[1]
                for name, kind, store in (
                    ("admin", "admin", None),
                    ("till", "till", "store-1"),
                    ("shop", "integration", None),
                )
            }

    def close(self) -> None:
        self.app.state.writer.close()
        if self.app.state.reader is not None:
            self.app.state.reader.close()
        self.app.state.engine.dispose()

    def client(self, key: str = "till", address: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        return httpx.AsyncClient(
            transport=transport,
            base_url="http://lojal/api/v1",
            headers={"Authorization": f"Bearer {self.keys[key]}"},
        )

    def run(self, scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return asyncio.run(scenario())

    def together(
        self, requests: list[tuple[str, Any]], key: str = "till", address: str = "127.0.0.1"
    ) -> list[httpx.Response]:
        """POST (path, json) requests all at once."""

        async def send() -> list[httpx.Response]:
            async with self.client(key, address) as client:
                return list(
                    await asyncio.gather(*(client.post(path, json=body) for path, body in requests))
                )

        return self.run(send)
