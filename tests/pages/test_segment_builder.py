"""The segment builder in the admin: the page and its script, the live count (the same as
the API's preview), saving, refusals that name the field, and who may — on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lojal.clock import FixedClock
from lojal.segments import queries
from lojal.segments.definition import parse_definition
from tests.factories import line, make_member, make_purchase
from tests.pages.conftest import Site, csrf_of

BUYERS: dict[str, Any] = {
    "all": [
        {
            "activity": "purchases",
            "within": {"last_days": 365},
            "measure": "count",
            "op": "gte",
            "value": 1,
        }
    ]
}


def _club(site: Site, clock: FixedClock) -> None:
    for n in range(3):
        member = make_member(site.session, clock)
        if n:
            make_purchase(site.session, clock, member_id=member.id, lines=[line()])
    site.session.commit()


def test_the_builder_page_loads_its_own_script_and_nothing_else(site: Site) -> None:
    site.sign_in("marketer")
    page = site.client.get("/staff/segments/new")
    assert page.status_code == 200
    assert '<script src="/static/segment-builder.js" defer></script>' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy
    fields = json.loads(
        page.text.split('data-fields="', 1)[1].split('"', 1)[0].replace("&#34;", '"')
    )
    assert {"path": "member.points", "label": "Points available", "kind": "number"} in fields
    for field in fields:  # every field the builder offers is one a definition may read
        parse_definition({"field": field["path"], "op": "eq", "value": 1})
    script = site.client.get("/static/segment-builder.js")
    assert script.status_code == 200
    assert "/staff/segments/preview" in script.text
    # the other pages still run no script at all
    assert "script-src" not in site.client.get("/staff/segments").headers["content-security-policy"]


def test_the_live_count_is_the_previews(site: Site, clock: FixedClock) -> None:
    _club(site, clock)
    csrf = site.sign_in("owner")
    answer = site.client.post(
        "/staff/segments/preview", json={"definition": BUYERS}, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status_code == 200, answer.text
    expected, _ = queries.preview(site.session, parse_definition(BUYERS), now=clock.now())
    assert answer.json() == {"count": expected}
    assert expected == 2


def test_the_count_needs_the_csrf_token_and_a_valid_definition(
    site: Site, clock: FixedClock
) -> None:
    csrf = site.sign_in("marketer")
    refused = site.client.post("/staff/segments/preview", json={"definition": BUYERS})
    assert refused.status_code == 403
    bad = site.client.post(
        "/staff/segments/preview",
        json={"definition": {"all": [{"field": "member.shoe_size", "op": "eq", "value": 1}]}},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422
    assert bad.json()["error"] == "InvalidSegment"
    assert "member.shoe_size" in bad.json()["detail"]
    assert "all.0" in bad.json()["detail"]


def test_saving_a_segment_fills_it_and_lists_it(site: Site, clock: FixedClock) -> None:
    _club(site, clock)
    site.sign_in("marketer")
    page = site.client.get("/staff/segments/new")
    data = {
        "name": "Buyers this year",
        "code": "buyers-year",
        "description": "",
        "definition": json.dumps(BUYERS),
        "csrf": csrf_of(page.text),
    }
    saved = site.client.post("/staff/segments", data=data)
    assert saved.status_code == 200
    assert "The segment “buyers-year” was saved." in saved.text
    assert 'data-testid="size-buyers-year">2<' in saved.text
    segment = queries.get(site.session, "buyers-year")
    assert segment.definition == BUYERS
    again = site.client.post("/staff/segments", data=data)
    assert again.status_code == 409
    assert "code: a segment with code" in again.text


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        ("{not json", "definition: not JSON"),
        (
            '{"all": [{"activity": "purchases", "measure": "sum", "op": "gte", "value": 1}]}',
            "needs &#39;of&#39;",
        ),
        ("", "a dynamic segment needs a definition"),
    ],
)
def test_a_refused_segment_comes_back_with_the_reason(
    site: Site, definition: str, problem: str
) -> None:
    site.sign_in("owner")
    page = site.client.get("/staff/segments/new")
    answer = site.client.post(
        "/staff/segments",
        data={
            "name": "Bad",
            "code": "bad",
            "definition": definition,
            "csrf": csrf_of(page.text),
        },
    )
    assert answer.status_code == 422
    assert problem in answer.text
    assert 'value="bad"' in answer.text  # what was typed is kept


def test_store_staff_may_not_build_or_see_segments(site: Site) -> None:
    csrf = site.sign_in("store_staff")
    assert site.client.get("/staff/segments/new").status_code == 403
    assert site.client.get("/staff/segments").status_code == 403
    assert (
        site.client.post(
            "/staff/segments/preview", json={"definition": BUYERS}, headers={"X-CSRF-Token": csrf}
        ).status_code
        == 403
    )
    answer = site.client.post(
        "/staff/segments",
        data={"name": "x", "code": "x", "definition": json.dumps(BUYERS), "csrf": csrf},
    )
    assert answer.status_code == 403
    assert queries.list_segments(site.session) == []
    assert "/staff/segments" not in site.client.get("/staff/members").text


def test_read_only_sees_the_list_but_builds_nothing(site: Site) -> None:
    site.sign_in("read_only")
    listed = site.client.get("/staff/segments")
    assert listed.status_code == 200
    assert "Build a new segment" not in listed.text
    assert site.client.get("/staff/segments/new").status_code == 403
