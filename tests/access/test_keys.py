"""API keys as a credential (OWASP API 2023 API2, broken authentication): stored hashed and shown
once, refused when expired, rotated out or revoked — by every server process at once — and every
change in the audit log. Managed from the admin API and ``lojal keys``. On both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lojal.app import create_app
from lojal.audit.models import AuditRecord
from lojal.clock import FixedClock
from lojal.config import DEV_API_KEY_PEPPER, Settings
from lojal.db.session import make_session_factory, transaction
from lojal.staff import service as staff
from lojal.staff.models import ApiKey
from tests.conftest import Api, apply_program
from tests.entry import run_lojal


def _status(client: TestClient, key: str) -> int:
    r = client.get("/api/v1/rewards", headers={"Authorization": f"Bearer {key}"})
    return int(r.status_code)


def _add(api: Api, **body: object) -> tuple[str, str]:
    r = api.post("/api-keys", {"name": "k", "kind": "integration", **body})
    assert r.status_code == 201, r.text
    return r.json()["key"], r.json()["api_key"]["prefix"]


def test_a_key_is_shown_once_and_stored_only_as_a_peppered_hash(api: Api, session: Session) -> None:
    key, prefix = _add(api, kind="till", store_id="store-7")
    assert key.startswith(f"lojal_{prefix}_")
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    assert row is not None
    assert (row.kind, row.store_id) == ("till", "store-7")
    secret = key.split("_", 2)[2]
    assert secret not in row.secret_hash
    assert len(row.secret_hash) == 64
    listed = api.get("/api-keys").json()
    assert key not in json.dumps(listed)
    [read] = [k for k in listed if k["prefix"] == prefix]
    assert (read["kind"], read["store_id"], read["status"]) == ("till", "store-7", "active")
    assert api.get(f"/api-keys/{prefix}").json() == read


def test_bad_key_settings_are_refused_naming_the_field(api: Api) -> None:
    for body, field in (
        ({"kind": "till"}, "store_id"),
        ({"kind": "integration", "store_id": "s"}, "store_id"),
        ({"kind": "root"}, "kind"),
        ({"kind": "admin", "expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
    ):
        r = api.post("/api-keys", {"name": "k", **body})
        assert r.status_code == 422, (body, r.text)
        assert field in (r.json().get("field") or r.json()["errors"][0]["field"])
    assert api.post("/api-keys/ffffff/revoke").status_code == 404


def test_an_expired_key_is_refused(api: Api, clock: FixedClock) -> None:
    until = clock.now() + timedelta(hours=1)
    key, _ = _add(api, expires_at=until.isoformat())
    assert _status(api.client, key) == 200
    clock.advance(timedelta(hours=1))
    r = api.client.get("/api/v1/rewards", headers={"Authorization": f"Bearer {key}"})
    assert (r.status_code, r.json()["error"]) == (401, "InvalidApiKey")


def test_a_rotated_key_works_beside_the_new_one_for_the_overlap_then_not(
    api: Api, clock: FixedClock
) -> None:
    old, prefix = _add(api)
    r = api.post(f"/api-keys/{prefix}/rotate", {"overlap_seconds": 3600})
    assert r.status_code == 200, r.text
    new = r.json()["key"]
    assert new != old
    assert new.startswith(f"lojal_{prefix}_")
    assert (_status(api.client, old), _status(api.client, new)) == (200, 200)
    clock.advance(timedelta(seconds=3600))
    assert (_status(api.client, old), _status(api.client, new)) == (401, 200)
    # an overlap of zero: the current secret stops at once
    newer = api.post(f"/api-keys/{prefix}/rotate", {"overlap_seconds": 0}).json()["key"]
    assert (_status(api.client, new), _status(api.client, newer)) == (401, 200)


def test_a_revoked_key_is_refused_and_stays_revoked(api: Api) -> None:
    key, prefix = _add(api)
    assert _status(api.client, key) == 200
    r = api.post(f"/api-keys/{prefix}/revoke")
    assert (r.status_code, r.json()["status"]) == (200, "revoked")
    assert _status(api.client, key) == 401
    r = api.post(f"/api-keys/{prefix}/rotate", {})
    assert (r.status_code, r.json()["field"]) == (422, "prefix")


def test_making_rotating_and_revoking_keys_is_in_the_audit_log(api: Api, session: Session) -> None:
    key, prefix = _add(api, kind="app")
    rotated = api.post(f"/api-keys/{prefix}/rotate", {"overlap_seconds": 60}).json()["key"]
    api.post(f"/api-keys/{prefix}/revoke")
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    assert row is not None
    records = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.entity == "api_keys", AuditRecord.entity_id == str(row.id))
        .order_by(AuditRecord.id)
    ).all()
    assert [r.action for r in records] == ["created", "changed", "changed"]
    assert all(r.actor.startswith("key:") and r.actor.endswith(" test-admin") for r in records)
    assert records[0].after is not None
    assert records[0].after["kind"] == "app"
    assert records[1].after is not None
    assert "rotated_at" in records[1].after
    assert records[2].after is not None
    assert set(records[2].after) == {"revoked_at"}
    logged = json.dumps([[r.before, r.after] for r in records])
    for secret in (key.split("_", 2)[2], rotated.split("_", 2)[2], row.secret_hash):
        assert secret not in logged


def _two_servers(url: str) -> tuple[TestClient, TestClient]:
    settings = Settings(database_url=url, environment="test")
    return TestClient(create_app(settings)), TestClient(create_app(settings))


def test_a_key_revoked_through_one_server_is_refused_by_another_at_once(
    fresh_engine: Engine,
) -> None:
    """Two server processes' apps on one database: a revocation or a rotation through one is
    seen by the other on its next request (the access revision)."""
    url = fresh_engine.url.render_as_string(hide_password=False)
    now = datetime.now(UTC)
    with transaction(make_session_factory(fresh_engine)) as session:
        apply_program(session, now)
        _, admin = staff.create_key(
            session, name="admin", kind="admin", pepper=DEV_API_KEY_PEPPER, now=now
        )
        till, till_key = staff.create_key(
            session, name="till", kind="till", store_id="s1", pepper=DEV_API_KEY_PEPPER, now=now
        )
        shop, shop_key = staff.create_key(
            session, name="shop", kind="integration", pepper=DEV_API_KEY_PEPPER, now=now
        )
    one, two = _two_servers(url)
    with one, two:
        assert [_status(c, k) for c in (one, two) for k in (till_key, shop_key)] == [200] * 4
        auth = {"Authorization": f"Bearer {admin}"}
        assert one.post(f"/api/v1/api-keys/{till.prefix}/revoke", headers=auth).status_code == 200
        assert (_status(two, till_key), _status(two, shop_key)) == (401, 200)
        assert (_status(one, till_key), _status(one, shop_key)) == (401, 200)
        rotated = two.post(
            f"/api/v1/api-keys/{shop.prefix}/rotate", json={"overlap_seconds": 0}, headers=auth
        )
        assert rotated.status_code == 200, rotated.text
        assert (_status(one, shop_key), _status(one, rotated.json()["key"])) == (401, 200)


def test_the_keys_command_adds_lists_rotates_and_revokes(fresh_engine: Engine) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    with transaction(make_session_factory(fresh_engine)) as session:
        apply_program(session, datetime.now(UTC))
    no_store = run_lojal("keys", "add", "till 1", "--kind", "till", "--database-url", url)
    assert no_store.returncode != 0
    assert "store" in no_store.stderr + no_store.stdout
    added = run_lojal(
        "keys", "add", "till 1", "--kind", "till", "--store", "s1", "--database-url", url
    )
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    prefix = key.split("_")[1]
    listed = run_lojal("keys", "list", "--database-url", url)
    assert listed.returncode == 0, listed.stderr
    assert prefix in listed.stdout
    assert "till" in listed.stdout
    assert "active" in listed.stdout
    rotated = run_lojal("keys", "rotate", prefix, "--overlap-hours", "0", "--database-url", url)
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip().splitlines()[-1]
    assert new.startswith(f"lojal_{prefix}_")
    assert new != key
    assert run_lojal("keys", "revoke", prefix, "--database-url", url).returncode == 0
    assert "revoked" in run_lojal("keys", "list", "--database-url", url).stdout
    app = create_app(Settings(database_url=url, environment="test"))
    with TestClient(app) as client:
        assert (_status(client, key), _status(client, new)) == (401, 401)
