"""The brute-force guard through the real app: a run of 10,000 wrong guesses from one caller is
refused long before it ends, while a right code from another caller still works; wrong codes
are slowed (Retry-After), then refused for a while."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine, func, select

from lojal.coupons import codes, guard, queries
from lojal.coupons.models import CouponAttempt
from lojal.db.session import transaction
from tests.coupons.helpers import campaign, codes_of
from tests.coupons.live import Live

GUESSES = 10_000


@pytest.fixture
def live(fresh_engine: Engine) -> Iterator[Live]:
    queries.forget_catalogue()
    live = Live(fresh_engine)
    yield live
    live.close()


def _code(live: Live) -> str:
    with transaction(live.factory) as session:
        [code] = codes_of(session, live.clock, campaign(session, live.clock))
    return code


def _guess(i: int) -> str:
    """Random-looking guesses of the right shape (10 characters and a check character)."""
    body = codes.random_characters(10)
    return body + (codes.check_character(body) if i % 2 else "2")


def _validate(code: str) -> dict[str, object]:
    return {"code": code, "basket": {"total_minor": 10_000}}


def test_ten_thousand_wrong_guesses_are_refused_long_before_the_end(
    backend: str, live: Live
) -> None:
    code = _code(live)

    async def attack() -> tuple[Counter[int], int, httpx.Response]:
        statuses: Counter[int] = Counter()
        first_refusal = -1
        async with live.client("shop", "203.0.113.7") as attacker:
            for i in range(GUESSES):
                answer = await attacker.post("/coupons/validate", json=_validate(_guess(i)))
                statuses[answer.status_code] += 1
                if answer.status_code == 429 and first_refusal < 0:
                    first_refusal = i
                    assert answer.json()["error"] == "TooManyAttempts"
                    assert int(answer.headers["Retry-After"]) >= 1
        async with live.client("till", "198.51.100.20") as till:
            honest = await till.post("/coupons/validate", json=_validate(code))
        return statuses, first_refusal, honest

    statuses, first_refusal, honest = live.run(attack)
    assert first_refusal == guard.ADDRESS.slow_after
    assert statuses[200] == guard.ADDRESS.slow_after
    assert statuses[429] == GUESSES - guard.ADDRESS.slow_after
    assert honest.status_code == 200
    assert honest.json()["valid"] is True
    with transaction(live.factory, read_only=True) as session:
        # only the wrong guesses that were looked at were written
        assert session.scalar(select(func.max(CouponAttempt.failures))) == guard.ADDRESS.slow_after


def test_wrong_codes_are_slowed_then_blocked_even_for_a_right_code(live: Live) -> None:
    code = _code(live)
    policy = guard.ADDRESS

    async def scenario() -> None:
        async with live.client("till", "192.0.2.1") as till:

            async def wrong() -> httpx.Response:
                return await till.post("/coupons/validate", json=_validate("WRONG-CODE"))

            for _ in range(policy.slow_after):
                answer = await wrong()
                assert answer.json()["reason"] == "UnknownCode"
            waits = []
            for _ in range(policy.block_after - policy.slow_after):
                refused = await wrong()
                assert refused.status_code == 429
                wait = int(refused.headers["Retry-After"])
                waits.append(wait)
                live.clock.advance(timedelta(seconds=wait))
                assert (await wrong()).status_code == 200  # looked at again, and counted
            assert waits[:4] == [1, 2, 4, 8]  # the wait doubles
            right = await till.post("/coupons/validate", json=_validate(code))
            assert right.status_code == 429  # blocked: a right code would tell the guesser
            assert int(right.headers["Retry-After"]) > 60
            live.clock.advance(guard.BLOCK_FOR)
            again = await till.post("/coupons/validate", json=_validate(code))
            assert again.status_code == 200
            assert again.json()["valid"] is True

    live.run(scenario)


def test_wrong_codes_at_reserve_count_too(live: Live) -> None:
    async def scenario() -> list[int]:
        async with live.client("till", "192.0.2.9") as till:
            statuses = []
            for i in range(guard.ADDRESS.slow_after + 2):
                answer = await till.post(
                    "/coupons/reserve",
                    json={**_validate(f"NOPE-{i}"), "reference": f"b-{i}"},
                )
                statuses.append(answer.status_code)
            return statuses

    statuses = live.run(scenario)
    assert statuses == [404] * guard.ADDRESS.slow_after + [429, 429]
