"""Editing a saved segment in the builder: the page carries the saved definition, saving
changes it (and the members in it), refusals name the field and change nothing, and who may
— on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest

from lojal.clock import FixedClock
from lojal.segments import queries
from tests.factories import line, make_member, make_purchase
from tests.pages.conftest import Site
from tests.pages.test_segment_builder import BUYERS

TWICE: dict[str, Any] = {
    "any": [
        {
            "activity": "purchases",
            "within": {"last_days": 365},
            "measure": "count",
            "op": "gte",
            "value": 2,
        }
    ]
}


def _saved(site: Site, clock: FixedClock) -> str:
    """Three members (one buying twice, one once), the segment "buyers" saved; the CSRF."""
    for n in range(3):
        member = make_member(site.session, clock)
        for _ in range(n):
            make_purchase(site.session, clock, member_id=member.id, lines=[line()])
    site.session.commit()
    csrf = site.sign_in("marketer")
    saved = site.client.post(
        "/staff/segments",
        data={"name": "Buyers", "code": "buyers", "definition": json.dumps(BUYERS), "csrf": csrf},
    )
    assert 'data-testid="size-buyers">2<' in saved.text
    return csrf


def test_the_edit_page_carries_the_saved_segment(site: Site, clock: FixedClock) -> None:
    _saved(site, clock)
    listed = site.client.get("/staff/segments")
    assert 'href="/staff/segments/buyers/edit"' in listed.text
    page = site.client.get("/staff/segments/buyers/edit")
    assert page.status_code == 200
    assert 'action="/staff/segments/buyers"' in page.text
    assert 'value="Buyers"' in page.text
    shown = page.text.split('id="definition"', 1)[1].split(">", 1)[1].split("</textarea>")[0]
    assert json.loads(html.unescape(shown)) == BUYERS
    assert site.client.get("/staff/segments/nobody/edit").status_code == 404


def test_saving_an_edit_changes_the_definition_and_the_members(
    site: Site, clock: FixedClock
) -> None:
    csrf = _saved(site, clock)
    before = queries.get(site.session, "buyers").revision
    answer = site.client.post(
        "/staff/segments/buyers",
        data={
            "name": "Bought twice",
            "description": "two or more",
            "definition": json.dumps(TWICE),
            "csrf": csrf,
        },
    )
    assert answer.status_code == 200
    assert "The segment “buyers” was saved." in answer.text
    assert 'data-testid="size-buyers">1<' in answer.text
    site.session.expire_all()
    segment = queries.get(site.session, "buyers")
    assert (segment.name, segment.description) == ("Bought twice", "two or more")
    assert segment.definition == TWICE
    assert segment.revision == before + 1


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        ("{not json", "definition: not JSON"),
        ('{"all": [{"field": "member.nothing", "op": "eq", "value": 1}]}', "member.nothing"),
        ("null", "definition: required"),
    ],
)
def test_a_refused_edit_names_the_field_and_changes_nothing(
    site: Site, clock: FixedClock, definition: str, problem: str
) -> None:
    csrf = _saved(site, clock)
    answer = site.client.post(
        "/staff/segments/buyers",
        data={"name": "Changed", "definition": definition, "csrf": csrf},
    )
    assert answer.status_code == 422
    assert problem in html.unescape(answer.text)
    assert 'value="Changed"' in answer.text  # what was typed is kept
    site.session.expire_all()
    segment = queries.get(site.session, "buyers")
    assert (segment.name, segment.definition) == ("Buyers", BUYERS)


def test_an_edit_needs_the_csrf_token_and_the_right_role(site: Site, clock: FixedClock) -> None:
    _saved(site, clock)
    data = {"name": "Changed", "definition": json.dumps(TWICE)}
    assert site.client.post("/staff/segments/buyers", data={**data, "csrf": "no"}).status_code == (
        403
    )
    site.client.cookies.clear()
    csrf = site.sign_in("read_only")
    assert site.client.get("/staff/segments/buyers/edit").status_code == 403
    listed = site.client.get("/staff/segments")
    assert "/staff/segments/buyers/edit" not in listed.text
    answer = site.client.post("/staff/segments/buyers", data={**data, "csrf": csrf})
    assert answer.status_code == 403
    site.session.expire_all()
    assert queries.get(site.session, "buyers").name == "Buyers"
