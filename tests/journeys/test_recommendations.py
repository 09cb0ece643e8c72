"""A journey's message reads the member's recommendations: a template that names
``recommendations`` gets the member's next-best offer (``insight.recommendations``), the
same one the API answers; one that does not is rendered without computing it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lojal.activities import service as activities
from lojal.activities.member_events import record_event
from lojal.activities.schemas import EventCreate, PurchaseCreate
from lojal.insight import recommendations
from lojal.journeys import service as journeys
from lojal.journeys.definition import JourneyDefinition
from tests.journeys.club import START, Club

TEMPLATE = "Tips: {% for r in recommendations %}[{{ r.name }}]{% endfor %}"


def _journey(club: Club, code: str, body: str) -> None:
    definition = JourneyDefinition.model_validate(
        {
            "code": code,
            "name": code,
            "trigger": {"kind": "event", "event_type": code},
            "steps": [{"send": {"channel": "email", "template": "tips"}}],
            "templates": {"tips": {"subject": "Tips", "body": body}},
        }
    )
    with club.session() as session:
        journeys.add(session, definition=definition, now=club.clock.now(), enabled=True)


def _bought(club: Club, member_id: int, sku: str, name: str, day: int) -> None:
    at = START - timedelta(days=day)
    with club.session() as session:
        activities.record_purchase(
            session,
            data=PurchaseCreate.model_validate(
                {
                    "order_id": f"o-{sku}-{day}",
                    "member_id": member_id,
                    "channel": "store",
                    "occurred_at": at.isoformat(),
                    "lines": [{"sku": sku, "name": name, "unit_price_minor": 4_500}],
                }
            ),
            now=club.clock.now(),
        )


def _event(club: Club, member_id: int, type_: str) -> None:
    with club.session() as session:
        record_event(
            session,
            data=EventCreate(event_id=f"{type_}-{member_id}", type=type_, member_id=member_id),
            now=club.clock.now(),
        )


def test_a_message_lists_the_members_recommendations(club: Club) -> None:
    alva = club.member("alva@example.se", "email")
    for day in (40, 26, 12):  # coffee beans every two weeks: due again
        _bought(club, alva, "bonor-mork", "Mörkrostade bönor", day)
    _journey(club, "tips", TEMPLATE)
    _event(club, alva, "tips")
    club.run()
    with club.session() as session:
        expected = recommendations.template_values(session, member_id=alva, now=club.clock.now())
    assert [r["name"] for r in expected] == ["Mörkrostade bönor"]
    [mail] = [m for m in club.mails("alva@example.se") if m["Subject"] == "Tips"]
    assert mail.get_body(("plain",)).get_content().splitlines()[0] == "Tips: [Mörkrostade bönor]"  # type: ignore[union-attr]


def test_a_template_that_does_not_name_them_is_rendered_without_them(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object, **__: object) -> list[dict[str, Any]]:
        raise AssertionError("the offer was computed for a template that does not read it")

    monkeypatch.setattr(recommendations, "template_values", refuse)
    bo = club.member("bo@example.se", "email")
    _journey(club, "hej", "Hej {{ member.first_name }}!")
    _event(club, bo, "hej")
    club.run()
    [mail] = [m for m in club.mails("bo@example.se") if m["Subject"] == "Tips"]
    assert mail.get_body(("plain",)).get_content().splitlines()[0] == "Hej Alva!"  # type: ignore[union-attr]
