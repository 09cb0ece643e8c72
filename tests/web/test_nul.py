"""A text no database can store — a NUL character, a lone surrogate — anywhere in a request is
a 422 naming the field, on SQLite and PostgreSQL, and nothing is written; a database error
never puts a member's data in the logs."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from lojal.db.driver import Driver
from lojal.db.engine import make_engine
from lojal.program import service as program_service
from lojal.program.errors import InvalidProgram
from lojal.web.deps import AdminWrite, SessionDep
from lojal.web.writer import Reply
from tests.conftest import Api
from tests.factories import purchase_payload, unique

NUL = "\x00"
SECRET = "anna.secret@example.se"


def _refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "ValidationError"
    assert [e["field"] for e in body["errors"]] == [field], body
    assert field in body["detail"]


def _member(api: Api) -> int:
    r = api.post("/members", {"email": f"{unique('m')}@example.se"})
    assert r.status_code == 201, r.text
    member_id: int = r.json()["id"]
    return member_id


def test_a_nul_in_a_members_name_is_refused(api: Api) -> None:
    email = f"{unique('nul')}@example.se"
    r = api.post("/members", {"email": email, "first_name": f"An{NUL}na"}, scope="web")
    _refused(r, "first_name")
    assert "NUL" in r.json()["errors"][0]["message"]
    assert api.get("/members", params={"email": email}).status_code == 404


def test_a_lone_surrogate_is_refused_and_a_pair_is_not(api: Api) -> None:
    email = f"{unique('s')}@example.se"
    raw = '{"email": "EMAIL", "first_name": "Anna \\ud83d"}'.replace("EMAIL", email)
    headers = {**api.headers("web"), "content-type": "application/json"}
    r = api.client.post("/api/v1/members", content=raw.encode(), headers=headers)
    _refused(r, "first_name")
    assert api.get("/members", params={"email": email}).status_code == 404
    # an emoji (a surrogate pair) and an escaped backslash are text like any other
    raw = '{"email": "EMAIL", "first_name": "Anna \\ud83d\\ude00", "last_name": "a\\\\u0000"}'
    raw = raw.replace("EMAIL", email)
    r = api.client.post("/api/v1/members", content=raw.encode(), headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["first_name"] == "Anna \U0001f600"
    assert r.json()["last_name"] == "a\\u0000"


def test_a_nul_in_an_order_id_or_a_line_is_refused(api: Api) -> None:
    m = _member(api)
    order = unique("order")
    r = api.post("/purchases", purchase_payload(f"{order}{NUL}", member_id=m), scope="web")
    _refused(r, "order_id")
    bad_line = purchase_payload(
        order, member_id=m, lines=[{"sku": f"A{NUL}", "unit_price_minor": 1}]
    )
    _refused(api.post("/purchases", bad_line, scope="web"), "lines[0].sku")
    points = api.get(f"/members/{m}/points").json()
    assert points["lifetime_earned"] == 0
    # the order id is still free
    assert (
        api.post("/purchases", purchase_payload(order, member_id=m), scope="web").status_code == 201
    )


def test_a_nul_in_an_attribute_key_is_refused(api: Api) -> None:
    email = f"{unique('k')}@example.se"
    r = api.post("/members", {"email": email, "attributes": {f"ti{NUL}er": "gold"}})
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == f"attributes.ti{NUL}er"
    assert "key" in error["message"]
    assert api.get("/members", params={"email": email}).status_code == 404
    m = _member(api)
    nested = purchase_payload(member_id=m, attributes={"basket": [{"note": f"x{NUL}"}]})
    _refused(api.post("/purchases", nested, scope="web"), "attributes.basket[0].note")


def test_a_nul_in_a_badge_image_url_is_refused(api: Api) -> None:
    code = unique("badge")
    body = {"code": code, "name": "Explorer", "image_url": f"https://cdn.example/{NUL}.png"}
    _refused(api.post("/badges", body), "image_url")
    assert api.get(f"/badges/{code}").status_code == 404
    assert api.post("/badges", {**body, "image_url": None}).status_code == 201
    _refused(api.patch(f"/badges/{code}", {"image_url": f"https://x/{NUL}"}), "image_url")
    assert api.get(f"/badges/{code}").json()["image_url"] is None


def test_a_nul_in_a_query_or_path_parameter_is_refused(api: Api) -> None:
    _refused(api.get("/members", params={"email": f"a{NUL}@example.se"}), "email")
    _refused(api.client.get("/api/v1/members?email=a%00b", headers=api.headers()), "email")
    _refused(api.get("/badges/ab%00c"), "code")
    _refused(api.get("/challenges/x%00"), "code")


def test_a_nul_in_the_programme_is_refused(api: Api, tmp_path: Path) -> None:
    program = api.get("/program").json()["config"]
    _refused(api.put("/program", {**program, "name": f"Klubb{NUL}"}), "name")
    assert api.get("/program").json()["config"]["name"] == program["name"]
    # a YAML file may write a NUL as "\0"
    with pytest.raises(InvalidProgram) as refused:
        program_service.parse('name: "Klubb\\0"\ncurrency: SEK\n')
    assert refused.value.field == "name"
    assert "NUL" in refused.value.detail
    with pytest.raises(InvalidProgram) as refused:
        program_service.parse(
            'name: K\ncurrency: SEK\nrules: [{id: b, kind: base, points: 1, "\\0": 1}]\n'
        )
    assert refused.value.field == "rules[0].\x00"


# ------------------------------------------------------------------ the logs


def _boom_app(api: Api, statement: str, params: dict[str, Any]) -> FastAPI:
    app: FastAPI = api.client.app  # type: ignore[assignment]

    def boom(session: SessionDep) -> dict[str, str]:
        session.execute(text(statement), params)
        return {"status": "no error"}

    app.add_api_route("/boom", boom, methods=["GET"])
    return app


def _failing(backend: str) -> tuple[str, dict[str, Any]]:
    """A statement that fails with a member's data in its parameters (and, on PostgreSQL, in
    the server's own message: 'invalid input syntax for type integer: "anna…"')."""
    if backend == "postgresql":
        return "SELECT CAST(:v AS INTEGER)", {"v": SECRET}
    return "SELECT :v", {"v": {"email": SECRET}}  # a value SQLite cannot bind


def test_a_database_error_logs_no_parameter_values(
    api: Api, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = _boom_app(api, *_failing(backend))
    caplog.set_level(logging.DEBUG)
    # raise_server_exceptions: an error that reached the server's own handler (which logs the
    # driver's message in full) would be raised here
    r = TestClient(app).get("/boom")
    assert r.status_code == 500, r.text
    assert "error" in r.json()
    assert SECRET not in r.text
    assert caplog.records, "the error is logged"
    assert SECRET not in caplog.text
    assert "anna" not in caplog.text


def test_a_database_error_in_a_write_logs_no_parameter_values(
    api: Api, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    statement, params = _failing(backend)
    app: FastAPI = api.client.app  # type: ignore[assignment]

    async def boom(write: AdminWrite) -> Response:
        def work(session: Session, now: datetime) -> Reply:
            session.execute(text(statement), params)
            return Reply(200, b'{"status": "no error"}')

        return await write(work)

    app.add_api_route("/boom-write", boom, methods=["POST"])
    caplog.set_level(logging.DEBUG)
    r = api.client.post("/boom-write", headers=api.headers())
    assert r.status_code == 500, r.text
    assert caplog.records, "the error is logged"
    assert SECRET not in caplog.text
    assert "anna" not in caplog.text


def test_database_errors_never_show_their_parameters(engine: Engine, backend: str) -> None:
    statement, params = _failing(backend)
    with engine.connect() as conn:
        with pytest.raises(DBAPIError) as orm:
            conn.execute(text(statement), params)
        assert SECRET not in str(orm.value.statement or "")
        assert "[parameters:" not in str(orm.value)
        conn.rollback()
        db = Driver(conn)
        sql = statement.replace(":v", "?")
        with pytest.raises(DBAPIError) as raw:
            db.execute(sql, tuple(params.values()))
        assert "[parameters:" not in str(raw.value)
        conn.rollback()
    echo = make_engine(str(engine.url.render_as_string(hide_password=False)), echo=True)
    assert echo.hide_parameters
    echo.dispose()
