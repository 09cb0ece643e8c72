"""``/docs`` and ``/redoc`` work with no internet: every script and style sheet the pages
load is served by lojal itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lojal.app import create_app
from lojal.config import Settings


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_documentation_loads_nothing_from_the_internet(page: str, tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'lojal.db'}"))
    with TestClient(app) as client:
        html = client.get(page)
        assert html.status_code == 200
        loaded = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html.text)
        loaded += re.findall(r"""(?:url|Url)\s*:\s*["']([^"']+)["']""", html.text)
        assert not [url for url in loaded if re.match(r"(https?:)?//", url)], loaded
        assets = [url for url in loaded if url.startswith("/docs/assets/")]
        assert any(url.endswith(".js") for url in assets), loaded
        for url in assets:
            answer = client.get(url)
            assert answer.status_code == 200, url
            assert len(answer.content) > 1000 or url.endswith(".png"), url
        assert "/openapi.json" in html.text
        assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
