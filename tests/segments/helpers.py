"""Both readers of a definition on the test's members: they must agree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.members.models import Member
from lojal.segments import queries
from lojal.segments.definition import parse_definition
from lojal.segments.evaluate import Population, evaluate


def in_memory(session: Session, data: Any, *, now: datetime) -> set[int]:
    definition = parse_definition(data)
    ids = list(session.scalars(select(Member.id)))
    facts = queries.facts_of(session, ids)
    zone = queries.club_zone(session)
    population = Population(list(facts.values()))
    return {
        member_id
        for member_id, each in facts.items()
        if evaluate(definition, each, now=now, zone=zone, population=population)
    }


def holding(session: Session, data: Any, *, now: datetime) -> set[int]:
    """The members the definition holds for; SQL and memory checked to agree."""
    session.flush()
    sql = set(queries.holding(session, parse_definition(data), now=now))
    memory = in_memory(session, data, now=now)
    assert sql == memory, f"SQL {sorted(sql)} != in memory {sorted(memory)}"
    return sql
