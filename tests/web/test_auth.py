"""API keys: the ``Authorization: Bearer`` header, the key's scopes, and how OpenAPI shows them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from lojal.app import create_app
from lojal.config import DEV_API_KEY_PEPPER, Settings
from lojal.db.session import make_session_factory, transaction
from lojal.staff import service as staff
from tests.conftest import Api, apply_program
from tests.entry import run_lojal


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token {key}", "{key}", "Bearer nope"],
)
def test_a_request_without_a_valid_bearer_key_is_refused(api: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header.format(key=api.keys["pos"])}
    r = api.client.get("/api/v1/members", params={"email": "a@example.se"}, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "InvalidApiKey"


def test_the_scheme_is_case_insensitive(api: Api) -> None:
    for scheme in ("bearer", "BEARER", "Bearer"):
        headers = {"Authorization": f"{scheme} {api.keys['web']}"}
        r = api.client.get("/api/v1/members", params={"email": "a@example.se"}, headers=headers)
        assert r.status_code == 404, r.text  # past the key: no such member


def test_a_key_without_the_scope_is_refused_by_reads_and_writes(api: Api) -> None:
    r = api.get("/coupon-campaigns", scope="pos")
    assert (r.status_code, r.json()["error"]) == (403, "MissingScope")
    assert "admin" in r.json()["detail"]
    r = api.post("/coupon-campaigns", {"name": "x"}, scope="integration")
    assert (r.status_code, r.json()["error"]) == (403, "MissingScope")


def test_openapi_shows_the_bearer_scheme_on_every_guarded_operation(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `lojal keys create`",
        }
    }
    operations = [
        (path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
    ]
    assert len(operations) > 50
    for path, method, op in operations:
        assert op.get("security") == [{"HTTPBearer": []}], (method, path)
    validate = spec["paths"]["/api/v1/coupons/validate"]["post"]
    assert validate["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CouponCheck"
    }


def test_a_revoked_key_is_refused_from_the_next_request(fresh_engine: Engine) -> None:
    """``lojal keys revoke`` in another process: the server's next request with the key is
    refused (it used to be trusted from a cache for up to 10 s)."""
    url = fresh_engine.url.render_as_string(hide_password=False)
    now = datetime.now(UTC)
    with transaction(make_session_factory(fresh_engine)) as session:
        apply_program(session, now)
        row, key = staff.create_key(
            session, name="till 1", kind="integration", pepper=DEV_API_KEY_PEPPER, now=now
        )
        _, other = staff.create_key(
            session, name="till 2", kind="integration", pepper=DEV_API_KEY_PEPPER, now=now
        )
    app = create_app(Settings(database_url=url, environment="test"))
    with TestClient(app) as client:

        def status(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            r = client.get("/api/v1/members", params={"email": "a@example.se"}, headers=headers)
            return int(r.status_code)

        assert (status(key), status(key), status(other)) == (404, 404, 404)  # past the key
        revoked = run_lojal("keys", "revoke", row.prefix, "--database-url", url)
        assert revoked.returncode == 0, revoked.stderr
        assert (status(key), status(key), status(other)) == (401, 401, 404)
