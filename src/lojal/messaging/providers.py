"""SMS and push through a configured HTTP provider: a JSON POST to its URL with its
``Authorization`` header. SMS: ``{"to": "+46…", "text": …, "reference": "lojal-42"}``; push:
``{"member_id": 7, "title": …, "body": …, "data": {…}, "reference": "lojal-42"}`` (the member
id as the provider's external user id). A 2xx is sent; a 429, or any 4xx with
``Retry-After``, slows the channel down; another 4xx refuses this message; a 5xx or no
answer is tried again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from lojal.worker.http import HttpClient, retry_after


class ProviderThrottled(Exception):
    def __init__(self, reason: str, after: timedelta | None) -> None:
        super().__init__(reason)
        self.after = after


class ProviderRefused(Exception):
    pass


class ProviderFailed(Exception):
    pass


@dataclass
class HttpProvider:
    url: str
    authorization: str | None
    http: HttpClient

    def send(self, payload: dict[str, Any]) -> None:
        headers = {"Authorization": self.authorization} if self.authorization else {}
        answer = self.http.post(self.url, orjson.dumps(payload), headers)
        if 200 <= answer.status < 300:
            return
        wait = retry_after(answer.headers)
        if answer.status == 429 or (400 <= answer.status < 500 and wait is not None):
            raise ProviderThrottled(f"{self.url} answered {answer.status}", wait)
        if 400 <= answer.status < 500:
            raise ProviderRefused(f"{self.url} refused the message: {answer.status}")
        raise ProviderFailed(f"{self.url} answered {answer.status}")
