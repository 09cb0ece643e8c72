"""The journeys' tests' club: the demo programme with the ready-made journeys, a frozen clock
at ``START``, the worker, a real SMTP server and an HTTP provider (``tests.journeys.club``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.journeys.club import START, Club
from tests.smtp import smtp_server
from tests.webhooks.receiver import receiving


@pytest.fixture
def club(fresh_engine: Any) -> Iterator[Club]:
    with smtp_server() as smtp, receiving() as provider:
        made = Club(fresh_engine, smtp, provider, START)
        try:
            yield made
        finally:
            made.close()
