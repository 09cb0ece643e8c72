from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.program.schemas import ProgramConfig
from tests.factories import line, make_event, make_member, make_purchase, make_return
from tests.segments.helpers import holding


def test_smoke(session: Session, clock: FixedClock, program: ProgramConfig) -> None:
    a = make_member(session, clock, birth_date="1990-03-05", attributes={"fav": "tea"})
    b = make_member(session, clock)
    make_purchase(session, clock, "o1", member_id=a.id, lines=[line(category="coffee")])
    make_return(session, clock, "o1")
    make_event(session, clock, "email_click", member_id=b.id)
    now = clock.now() + timedelta(days=1)
    defs = [
        {"activity": "purchases", "measure": "count", "op": "gte", "value": 1},
        {"activity": "lines", "measure": "distinct", "of": "line.category", "op": "eq", "value": 1},
        {"activity": "returns", "measure": "exists"},
        {"not": {"activity": "events", "measure": "last", "in": {"last_days": 3}}},
        {"birthday": {"in_days": [0, 7]}},
        {"anniversary": {"in_days": [0, 7]}},
        {"top": {"percent": 10, "by": {"activity": "purchases", "measure": "sum", "of": "purchase.total_minor"}}},
        {"ratio": {"numerator": {"activity": "events"}, "denominator": {"activity": "purchases"}}, "op": "gt", "value": 0},
        {"field": "member.attributes.fav", "op": "eq", "value": "tea"},
        {"field": "member.points", "op": "gte", "value": 0},
        {"field": "member.consent.email", "op": "exists", "value": False},
        {"field": "member.paid_membership", "op": "eq", "value": False},
        {"date": "member.enrolled_at", "within": {"last_days": 2}},
        {"activity": "purchases", "measure": "avg", "of": "purchase.total_minor", "op": "gt", "value": 5},
    ]
    for d in defs:
        print(d, holding(session, d, now=now))
