"""A condition that reads a field its context does not give (``line.categroy``) is refused
where it is saved — the programme's earning rules over the API and from `lojal program apply`
— naming the field and the fields there are. Programmes that read real fields keep loading,
and a programme stored before the check still loads as it was."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lojal import cli
from lojal.activities.events import LineFacts
from lojal.db.session import make_session_factory, transaction
from lojal.program import service
from lojal.program.errors import InvalidProgram
from lojal.program.models import Program
from lojal.program.schemas import ProgramConfig
from lojal.rules.engine import MemberFacts, PurchaseFacts, award_purchase
from tests.conftest import DEFAULT_PROGRAM, Api, apply_program

TYPO = {"field": "line.categroy", "op": "eq", "value": "coffee"}
DEMO = Path(__file__).parents[2] / "src" / "lojal" / "demo" / "club.yaml"


def _with_rule(rule: dict[str, Any]) -> dict[str, Any]:
    program = copy.deepcopy(DEFAULT_PROGRAM)
    program["rules"] = [*program.get("rules", []), rule]
    return program


@pytest.mark.parametrize(
    ("rule", "field", "where"),
    [
        (
            {"id": "coffee", "kind": "multiplier", "factor": 2, "when": TYPO},
            "line.categroy",
            "multiplier",
        ),
        (
            {"id": "coffee", "kind": "base", "points": 2, "when": {"all": [TYPO]}},
            "line.categroy",
            "base",
        ),
        (
            {
                "id": "big",
                "kind": "bonus",
                "points": 5,
                "when": {"not": {"field": "purchase.totl_minor", "op": "gte", "value": 1}},
            },
            "purchase.totl_minor",
            "bonus",
        ),
        (  # an event rule reads the event, not a purchase's lines
            {
                "id": "review",
                "kind": "event",
                "event_type": "review_written",
                "points": 5,
                "when": {"field": "line.category", "op": "eq", "value": "x"},
            },
            "line.category",
            "event",
        ),
    ],
)
def test_the_api_refuses_an_earning_rule_on_an_unknown_field(
    api: Api, rule: dict[str, Any], field: str, where: str
) -> None:
    before = api.get("/program").json()
    r = api.put("/program", {**before["config"], "rules": [*before["config"]["rules"], rule]})
    assert r.status_code == 422, r.text
    body = r.json()
    [error] = body["errors"]
    assert error["field"].endswith(f"rules[{len(before['config']['rules'])}].{where}.when")
    assert error["message"].startswith(f"unknown field {field!r}; fields: ")
    fields = ["event.type", "event.properties.<key>"] if where == "event" else ["line.category"]
    assert all(f in error["message"] for f in [*fields, "member.attributes.<key>"])
    assert api.get("/program").json()["version"] == before["version"]  # nothing applied


def test_program_apply_names_the_unknown_field_in_one_sentence(
    fresh_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    url = fresh_engine.url.render_as_string(hide_password=False)
    text = DEMO.read_text(encoding="utf-8").replace("field: line.category", "field: line.categroy")
    assert "line.categroy" in text
    club = tmp_path / "club.yaml"
    club.write_text(text, encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["lojal", "program", "apply", str(club), "--database-url", url])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert "unknown field 'line.categroy'; fields: line.sku, line.category," in " ".join(
        err.split()
    )
    assert "Traceback" not in err
    with transaction(make_session_factory(fresh_engine)) as session:
        assert session.get(Program, 1) is None  # nothing applied


def test_the_programme_service_refuses_it_too() -> None:
    with pytest.raises(InvalidProgram, match=r"unknown field 'line\.categroy'") as info:
        service.validate(_with_rule({"id": "c", "kind": "multiplier", "factor": 2, "when": TYPO}))
    assert info.value.field is not None
    assert info.value.field.endswith(".multiplier.when")


def test_programmes_on_real_fields_keep_loading() -> None:
    demo = service.parse(DEMO.read_text(encoding="utf-8"))
    assert any(rule.when is not None for rule in demo.rules)
    ProgramConfig.model_validate(DEFAULT_PROGRAM)
    attributes = {"field": "member.attributes.favourite_store", "op": "eq", "value": "x"}
    service.validate(_with_rule({"id": "fav", "kind": "bonus", "points": 5, "when": attributes}))
    properties = {"field": "event.properties.words", "op": "gte", "value": 100}
    service.validate(
        _with_rule(
            {"id": "r", "kind": "event", "event_type": "review", "points": 5, "when": properties}
        )
    )


def test_a_programme_stored_before_the_check_still_loads(session: Session) -> None:
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    apply_program(session, now)
    program = session.get(Program, 1)
    assert program is not None
    rule = {"id": "coffee", "kind": "multiplier", "factor": "2", "when": TYPO}
    program.config = {**program.config, "rules": [*program.config["rules"], rule], "name": "Old"}
    program.version += 1
    session.flush()
    config = service.current(session)  # as applied: the rule reads nothing, as before
    assert config.name == "Old"
    purchase = PurchaseFacts(now, "store", 10_000, [LineFacts.of("K", 10_000, category="coffee")])
    assert award_purchase(config.ruleset(), purchase, MemberFacts()).points == 100
