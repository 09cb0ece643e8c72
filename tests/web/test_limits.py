"""Limits every request meets: a body too large is 413 and nothing is written, a caller over its
quota is 429 with Retry-After and the RateLimit fields (draft-ietf-httpapi-ratelimit-headers-09),
and attributes are bounded — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.inputs import MAX_ATTRIBUTES_BYTES
from lojal.program.schemas import ProgramConfig
from lojal.web.limits import RequestLimits
from tests.conftest import Api, serve_api
from tests.factories import unique

POLICY = re.compile(r'^"key";q=(\d+);w=(\d+), "address";q=(\d+);w=(\d+)$')


def test_a_body_over_the_limit_is_413_and_nothing_is_written(api: Api) -> None:
    email = f"{unique('big')}@example.se"
    body = b'{"email": "' + email.encode() + b'", "first_name": "' + b"a" * 2_000_000 + b'"}'
    headers = {**api.headers("web"), "content-type": "application/json"}
    r = api.client.post("/api/v1/members", content=body, headers=headers)
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "PayloadTooLarge"
    assert "1048576 bytes" in r.json()["detail"]
    assert api.get("/members", params={"email": email}).status_code == 404


def test_a_chunked_body_is_cut_off_at_the_limit(api: Api) -> None:
    email = f"{unique('chunk')}@example.se"

    def chunks() -> Iterator[bytes]:
        yield b'{"email": "' + email.encode() + b'", "first_name": "'
        for _ in range(40):
            yield b"a" * 65_536
        yield b'"}'

    headers = {**api.headers("web"), "content-type": "application/json"}
    r = api.client.post("/api/v1/members", content=chunks(), headers=headers)
    assert r.status_code == 413, r.text
    assert api.get("/members", params={"email": email}).status_code == 404


def test_attributes_over_the_bound_are_refused_naming_the_field(api: Api) -> None:
    email = f"{unique('attr')}@example.se"
    big = {"notes": "x" * MAX_ATTRIBUTES_BYTES}
    r = api.post("/members", {"email": email, "attributes": big}, scope="web")
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "attributes"
    assert f"at most {MAX_ATTRIBUTES_BYTES} bytes" in r.json()["detail"]
    ok = api.post("/members", {"email": email, "attributes": {"notes": "x" * 1000}}, scope="web")
    assert ok.status_code == 201, ok.text
    event = {"member": {"email": email}, "type": "survey_answered", "properties": big}
    assert api.post("/events", event, scope="integration").status_code == 422


def test_every_api_answer_carries_the_policy_and_what_is_left(api: Api) -> None:
    r = api.get("/program")
    assert r.status_code == 200, r.text
    assert POLICY.match(r.headers["RateLimit-Policy"]), r.headers["RateLimit-Policy"]
    current = re.match(r'^"(key|address)";r=(\d+);t=(\d+)$', r.headers["RateLimit"])
    assert current is not None, r.headers["RateLimit"]
    assert 0 < int(current.group(3)) <= 60


@pytest.fixture
def limited(
    database_url: str,
    session_factory: sessionmaker[Session],
    session: Session,
    clock: FixedClock,
    program: ProgramConfig,
) -> Iterator[Api]:
    with serve_api(
        database_url,
        session_factory,
        session,
        clock,
        rate_limit_per_key=5,
        rate_limit_per_address=8,
        rate_limit_window_seconds=3600,
    ) as served:
        yield served


def test_a_key_over_its_quota_is_429_and_other_keys_are_not(limited: Api) -> None:
    for left in range(4, -1, -1):
        r = limited.get("/program")
        assert r.status_code == 200, r.text
        assert r.headers["RateLimit"].startswith(f'"key";r={left};')
    refused = limited.get("/program")
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "TooManyRequests"
    assert "API key" in refused.json()["detail"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert refused.headers["RateLimit"].startswith('"key";r=0;')
    assert refused.headers["RateLimit-Policy"] == '"key";q=5;w=3600, "address";q=8;w=3600'
    # another key from the same address still gets through, until the address's own quota
    nobody = {"email": "nobody@example.se"}
    assert limited.get("/members", scope="web", params=nobody).status_code == 404


def test_an_address_over_its_quota_is_429_whatever_key_it_sends(limited: Api) -> None:
    statuses: list[int] = []
    for n in range(10):
        headers = {"Authorization": f"Bearer wrong-key-{n}"}
        statuses.append(limited.client.get("/api/v1/program", headers=headers).status_code)
    assert statuses == [401] * 8 + [429, 429]
    assert "address" in limited.client.get("/api/v1/program").json()["detail"]


def test_a_refused_write_writes_nothing(limited: Api) -> None:
    for _ in range(5):
        r = limited.get("/members", scope="web", params={"email": "nobody@example.se"})
        assert r.status_code == 404, r.text
    email = f"{unique('late')}@example.se"
    r = limited.post("/members", {"email": email}, scope="web")
    assert r.status_code == 429, r.text
    assert limited.get("/members", params={"email": email}).status_code == 404


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_the_window_rolls_and_the_counts_start_again() -> None:
    now = [1000.0]
    limits = RequestLimits(
        _ok, max_body_bytes=1024, per_key=2, per_address=0, window_seconds=60, clock=lambda: now[0]
    )
    counter, _ = limits.counters[0]
    assert counter.take("k", now[0]) == (1, 60)
    assert counter.take("k", now[0] + 59.5) == (0, 1)
    assert counter.take("k", now[0] + 59.9)[0] == -1
    assert counter.take("k", now[0] + 60) == (1, 60)  # a new window
    assert counter.take("k", now[0] + 200) == (1, 40)  # windows stay aligned to the start
    assert limits.policy_header == b'"key";q=2;w=60'
