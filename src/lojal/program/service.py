"""Apply and read the club's programme (one per database)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.orm import Session

from lojal.audit.capture import actor_of
from lojal.conditions.fields import STORED
from lojal.db.driver import Driver
from lojal.failures import yaml_problem
from lojal.inputs import locate_unstorable
from lojal.program.errors import InvalidProgram, ProgramNotConfigured
from lojal.program.models import Program, ProgramVersion
from lojal.program.schemas import ProgramConfig


def parse(text: str) -> ProgramConfig:
    """Parse a programme file (YAML or JSON). Errors name the field that is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidProgram(f"the programme file is not valid YAML: {yaml_problem(exc)}") from exc
    if not isinstance(data, dict):
        raise InvalidProgram("the programme file must be a mapping of settings")
    return validate(data)


def _storable(data: dict[str, Any]) -> None:
    """A text no database stores (a NUL, written ``"\\0"`` in YAML) is refused by name."""
    found = locate_unstorable(data)
    if found is not None:
        raise InvalidProgram(str(found), field=found.path)


def validate(data: dict[str, Any]) -> ProgramConfig:
    _storable(data)
    try:
        return ProgramConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidProgram(f"{where}: {first['msg']}", field=where) from exc


def apply(session: Session, *, config: ProgramConfig, source: str | None, now: datetime) -> Program:
    program = session.get(Program, 1, with_for_update=True)
    data = config.model_dump(mode="json")
    text = source if source is not None else json.dumps(data, indent=2)
    changed = True
    if program is None:
        program = Program(id=1, config=data, source=text, version=1, updated_at=now)
        session.add(program)
    elif program.config != data:
        program.config = data
        program.source = text
        program.version += 1
        program.updated_at = now
    else:
        changed = False
    if changed:  # every version is kept, with who applied it
        session.add(
            ProgramVersion(
                version=program.version,
                config=data,
                source=text,
                applied_at=now,
                applied_by=actor_of(session),
            )
        )
    session.flush()
    _cache.clear()
    return program


_cache: dict[tuple[int, int], ProgramConfig] = {}


def current(session: Session) -> ProgramConfig:
    """The club's programme, validated once per version (asked for on every write)."""
    db = Driver.of(session, flush=False)
    row = db.one("SELECT version FROM programs WHERE id = 1")
    if row is None:
        raise ProgramNotConfigured(
            "no programme is configured: run `lojal program apply club.yaml` first"
        )
    key = (id(session.get_bind()), int(row[0]))
    cached = _cache.get(key)
    if cached is None:
        program = session.get(Program, 1)
        assert program is not None
        # as it was applied: a condition saved before fields were checked still loads
        cached = ProgramConfig.model_validate(program.config, context=STORED)
        _cache.clear()
        _cache[key] = cached
    return cached


def get(session: Session) -> Program:
    program = session.get(Program, 1)
    if program is None:
        raise ProgramNotConfigured("no programme is configured")
    return program
