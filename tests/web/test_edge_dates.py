"""Times and dates at the edge of what a computer holds (year 1, year 9999, far offsets) in
every time or date an operation takes: a 422 naming the field, never a 500 — and the same in
the CLI's date options (a usage error naming the option).

The operations and their fields are read from the OpenAPI document, so a time field added
later is tested too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lojal.app import create_app
from lojal.cli import app as cli
from lojal.config import Settings
from tests.conftest import Api

TIMES = [
    "0001-01-01",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",  # no UTC time at all
    "1899-12-31T23:59:59Z",
    "2999-12-31T23:00:00-14:00",  # 3000-01-01 in UTC
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-23:59",
]
DAYS = ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"]


def _spec() -> dict[str, Any]:
    app = create_app(Settings(database_url="sqlite://", environment="test", api_key_pepper="x"))
    spec: dict[str, Any] = app.openapi()
    app.state.writer.close()
    app.state.engine.dispose()
    return spec


SPEC = _spec()
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _formats(schema: dict[str, Any]) -> set[str]:
    """The time formats a (possibly nullable, possibly union) schema accepts."""
    schema = _resolve(schema)
    found = {schema["format"]} & {"date-time", "date"} if "format" in schema else set()
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, []):
            found |= _formats(option)
    return found


def _values(formats: set[str]) -> list[str]:
    return TIMES if "date-time" in formats else DAYS


def _cases() -> Iterator[tuple[str, str, str, str, str]]:
    """(method, path, where, field, value) for every time or date a body's top level or a
    query takes."""
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                formats = _formats(param.get("schema", {}))
                if formats and param["in"] == "query":
                    for value in _values(formats):
                        yield method, path, "query", param["name"], value
            body = op.get("requestBody")
            if body is None:
                continue
            schema = _resolve(body["content"]["application/json"]["schema"])
            for name, prop in schema.get("properties", {}).items():
                formats = _formats(prop)
                if formats:
                    for value in _values(formats):
                        yield method, path, "body", name, value


CASES = list(_cases())


def test_the_cases_cover_every_known_time_field() -> None:
    fields = {(method, path, field) for method, path, _, field, _ in CASES}
    expected = {
        ("post", "/api/v1/purchases", "occurred_at"),
        ("post", "/api/v1/returns", "occurred_at"),
        ("post", "/api/v1/events", "occurred_at"),
        ("post", "/api/v1/members", "enrolled_at"),
        ("post", "/api/v1/members", "birth_date"),
        ("patch", "/api/v1/members/{member_id}", "birth_date"),
        ("post", "/api/v1/members/{member_id}/tier", "until"),
        ("post", "/api/v1/members/{member_id}/membership/payments", "paid_at"),
        ("post", "/api/v1/coupon-campaigns", "valid_from"),
        ("patch", "/api/v1/coupon-campaigns/{campaign_id}", "valid_until"),
        ("post", "/api/v1/rewards", "valid_from"),
        ("patch", "/api/v1/rewards/{reward_id}", "valid_until"),
        ("post", "/api/v1/challenges", "starts_at"),
        ("put", "/api/v1/challenges/{code}", "ends_at"),
        ("get", "/api/v1/referrals/report", "since"),
    }
    assert expected <= fields, expected - fields


def _fields(response: Any) -> list[str]:
    body = response.json()
    return [body.get("field")] + [e["field"] for e in body.get("errors", [])]


@pytest.mark.parametrize(("method", "path", "where", "field", "value"), CASES)
def test_an_edge_time_is_a_422_naming_the_field(
    api: Api, method: str, path: str, where: str, field: str, value: str
) -> None:
    url = path.replace("{member_id}", "1").replace("{campaign_id}", "1")
    url = url.replace("{reward_id}", "1").replace("{code}", "edge")
    headers = api.headers("admin")
    if where == "query":
        r = api.client.request(method, url, params={field: value}, headers=headers)
    else:
        r = api.client.request(method, url, json={field: value}, headers=headers)
    assert r.status_code == 422, (method, path, field, value, r.text)
    assert field in _fields(r), r.text


@pytest.mark.parametrize("value", TIMES)
def test_an_edge_time_in_a_rule_window_is_a_422_naming_the_field(api: Api, value: str) -> None:
    program = api.get("/program").json()["config"]
    program["rules"] = [{**program["rules"][0], "valid_from": value}]
    r = api.put("/program", program)
    assert r.status_code == 422, r.text
    assert "rules[0].base.valid_from" in _fields(r) or "rules[0].valid_from" in _fields(r), r.text


@pytest.mark.parametrize(
    "args",
    [
        ["tiers", "set", "1", "gold", "--reason", "x", "--until", "9999-12-31T23:59:59"],
        ["tiers", "set", "1", "gold", "--reason", "x", "--until", "0001-01-01"],
        ["memberships", "pay", "1", "gold", "--reference", "r", "--amount-minor", "1",
         "--currency", "SEK", "--paid-at", "0001-01-01"],
        ["referrals", "report", "--since", "0001-01-01"],
        ["referrals", "report", "--until", "9999-12-31"],
        ["referrals", "report", "--until", "31/12/2026"],
        ["demo", "--until", "9999-12-31"],
    ],
)  # fmt: skip
def test_an_edge_date_option_is_a_usage_error_naming_it(tmp_path: Path, args: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'club.db'}"
    result = CliRunner().invoke(cli, [*args, "--database-url", url])
    assert result.exit_code == 2, (result.output, result.exception)
    option = next(a for a in args if a in ("--until", "--paid-at", "--since"))
    assert option in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "club.db").exists()  # refused before anything was opened
