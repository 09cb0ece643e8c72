"""Fuzz every operation of the OpenAPI document with schemathesis: whatever the body, path or
query, the API answers with a JSON error or a success — never a 500."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case

from lojal import enrolment
from lojal.app import create_app
from lojal.clock import SystemClock
from lojal.config import Settings
from lojal.db.engine import make_engine
from lojal.db.migrate import upgrade
from lojal.db.session import make_session_factory, transaction
from lojal.members.schemas import MemberCreate
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.staff import service as staff
from tests.conftest import DEFAULT_PROGRAM, PEPPER

KEY: dict[str, str] = {}


def _club_app() -> object:
    """A committed SQLite club with a programme, an admin key and a few members."""
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='lojal-fuzz-')) / 'fuzz.db'}"
    engine = make_engine(url)
    upgrade(engine)
    now = SystemClock().now()
    with transaction(make_session_factory(engine)) as session:
        program_service.apply(
            session, config=ProgramConfig.model_validate(DEFAULT_PROGRAM), source=None, now=now
        )
        _, KEY["admin"] = staff.create_key(
            session, name="fuzz", kind="admin", pepper=PEPPER, now=now
        )
        for i in range(3):
            enrolment.enrol(session, data=MemberCreate(email=f"m{i}@example.se"), now=now)
    engine.dispose()
    return create_app(Settings(database_url=url, environment="test", api_key_pepper=PEPPER))


whole = schemathesis.openapi.from_asgi("/openapi.json", _club_app())
# The coverage phase enumerates every shape a schema allows, at collection: a segment's
# definition (a recursive tree of conditions) makes that run for many minutes and gigabytes.
# The fuzzing phase below generates from every schema, recursive ones included.
whole.config.phases.coverage.enabled = False
# The operations that take a segment's definition are left to their own property test
# (tests/segments/test_live.py: random definitions, both readers, both databases): generating
# from that recursive schema overflows hypothesis-jsonschema's recursion.
# A journey's body holds segment definitions too (its audience and branches): the same.
schema = whole.exclude(
    method=["POST", "PATCH"], path_regex=r"^/api/v1/segments(/preview|/\{segment_id\})?$"
).exclude(method=["POST", "PUT"], path_regex=r"^/api/v1/journeys(/\{journey_id\})?$")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_no_operation_answers_500(case: Case[Any]) -> None:
    response = case.call(headers={"Authorization": f"Bearer {KEY['admin']}"})
    assert response.status_code < 500, (case.method, case.path, response.text)
    assert "error" in response.json() or response.status_code < 400
