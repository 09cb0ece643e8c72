"""The OpenAPI document tells every status an operation can answer, and every error has the one
error schema (lojal.web.contract)."""

from __future__ import annotations

from typing import Any

import pytest

from lojal.app import create_app
from lojal.config import Settings
from lojal.web.contract import ERROR_REF, EXTRA
from tests.conftest import PEPPER, Api

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = create_app(
        Settings(database_url="sqlite:///:memory:", environment="test", api_key_pepper=PEPPER)
    )
    doc: dict[str, Any] = app.openapi()
    app.state.engine.dispose()
    return doc


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def expected(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """What each operation must document, read from the document itself."""
    parameters = operation.get("parameters", [])
    found = {400, 429, 503} if path.startswith("/api/") else set()
    if operation.get("security"):
        found |= {401, 403}
    if any(p["in"] == "path" for p in parameters):
        found |= {404, 422}
    if parameters:
        found.add(422)
    if "requestBody" in operation:
        found |= {413, 422}
    if method != "GET" or any(p["name"] == "Idempotency-Key" for p in parameters):
        found.add(409)
    return found


def test_every_operation_lists_the_statuses_it_can_answer(document: dict[str, Any]) -> None:
    operations = _operations(document)
    assert len(operations) > 50
    missing = {
        f"{method} {path}": sorted(expected(method, path, op) - {int(c) for c in op["responses"]})
        for method, path, op in operations
    }
    assert {k: v for k, v in missing.items() if v} == {}


def test_every_error_response_refers_to_the_one_error_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert set(schemas["Error"]["required"]) == {"error", "detail"}
    assert set(schemas["Error"]["properties"]) == {"error", "detail", "field", "errors"}
    for method, path, operation in _operations(document):
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                assert response["content"] == {
                    "application/json": {"schema": {"$ref": ERROR_REF}}
                }, (
                    method,
                    path,
                    code,
                )


def test_rate_limits_retry_and_replays_are_documented(document: dict[str, Any]) -> None:
    headers = document["components"]["headers"]
    assert {"RateLimit", "RateLimit-Policy", "Retry-After", "Idempotent-Replayed"} <= set(headers)
    for method, path, operation in _operations(document):
        idempotent = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
        for code, response in operation["responses"].items():
            names = set(response.get("headers", {}))
            assert {"RateLimit", "RateLimit-Policy"} <= names, (method, path, code)
            if code in ("429", "503"):
                assert "Retry-After" in names, (method, path, code)
            if idempotent:
                assert "Idempotent-Replayed" in names, (method, path, code)


def test_the_idempotency_key_says_its_limits(document: dict[str, Any]) -> None:
    keys = [
        p
        for _, _, operation in _operations(document)
        for p in operation.get("parameters", [])
        if p["name"] == "Idempotency-Key"
    ]
    assert len(keys) > 20
    for key in keys:
        assert key["schema"]["minLength"] == 1
        assert key["schema"]["maxLength"] == 255


def test_extra_statuses_name_operations_that_exist(document: dict[str, Any]) -> None:
    operations = {(method, path) for method, path, _ in _operations(document)}
    assert set(EXTRA) <= operations


def test_a_write_path_answer_of_503_says_when_to_retry() -> None:
    from lojal.web.deps import _response
    from lojal.web.writer import UNAVAILABLE

    assert _response(UNAVAILABLE).headers["Retry-After"] == "1"


def test_405_names_every_method_of_the_path(api: Api) -> None:
    answer = api.client.request("DELETE", "/api/v1/coupon-campaigns")
    assert answer.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in answer.headers["Allow"].split(",")}
    assert answer.json()["error"] == "MethodNotAllowed"


def test_a_replay_says_so(api: Api) -> None:
    first = api.post("/members", {"email": "replay@example.se"}, idempotency_key="k-1")
    again = api.post("/members", {"email": "replay@example.se"}, idempotency_key="k-1")
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
