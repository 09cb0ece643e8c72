"""``/api/v1/segments``: definitions round-trip unchanged, the preview saves nothing, members
page, a member's segments and history, static lists all or nothing, and bad input is a 422
naming the path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lojal.clock import FixedClock
from lojal.segments.models import Segment
from tests.conftest import Api
from tests.factories import make_member, make_purchase

REPEAT = {
    "all": [
        {"field": "member.consent.email", "op": "ne", "value": False},
        {
            "activity": "purchases",
            "within": {"last_days": 90},
            "measure": "count",
            "op": "gte",
            "value": 2,
        },
        {"not": {"activity": "returns", "measure": "exists"}},
        {
            "activity": "lines",
            "where": {"field": "line.category", "op": "in", "value": ["coffee", "tea"]},
            "within": {"days_ago": [0, None]},
            "measure": "distinct",
            "of": "line.category",
            "op": "between",
            "value": [1, 2],
        },
        {"birthday": {"in_days": [0, 7]}},
        {"date": "member.enrolled_at", "within": {"from": "2020-01-01", "until": "2030-12-31"}},
    ]
}


def _create(api: Api, code: str, definition: Any, kind: str = "dynamic") -> Any:
    body: dict[str, Any] = {"code": code, "name": code.title(), "kind": kind}
    if definition is not None:
        body["definition"] = definition
    return api.post("/segments", body)


def test_a_definition_round_trips_unchanged(api: Api) -> None:
    r = _create(api, "repeat", REPEAT)
    assert r.status_code == 201, r.text
    assert r.json()["definition"] == REPEAT
    got = api.get(f"/segments/{r.json()['id']}")
    assert got.json()["definition"] == REPEAT
    assert got.json()["reads"] == ["lines", "profile", "purchases", "returns", "time"]
    listed = api.get("/segments").json()
    assert [s["code"] for s in listed] == ["repeat"]


def test_bad_input_is_a_422_naming_the_path(api: Api) -> None:
    bad = {
        "all": [
            {"field": "member.tier", "op": "eq", "value": "gold"},
            {"activity": "purchases", "measure": "sum", "op": "gt", "value": 1},
        ]
    }
    r = _create(api, "bad", bad)
    assert r.status_code == 422
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == ["definition.all.all[1].activity"], fields
    assert "'sum' needs 'of'" in r.json()["detail"]

    typo = {"activity": "lines", "where": {"field": "line.categroy", "op": "eq", "value": "x"}}
    r = _create(api, "typo", {**typo, "op": "gt", "value": 0})
    assert r.status_code == 422
    assert "unknown field 'line.categroy'" in r.json()["detail"]

    r = _create(api, "member-typo", {"field": "member.teir", "op": "eq", "value": "gold"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "definition.field.field"
    assert "unknown field 'member.teir'" in r.json()["detail"]

    r = _create(api, "extra", {"activity": "events", "measure": "exists", "colour": "red"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "definition.activity.colour"

    r = _create(api, "nokey", {"every": []})
    assert r.status_code == 422
    assert "one of the keys" in r.json()["detail"]

    r = _create(
        api,
        "window",
        {"activity": "events", "measure": "exists", "within": {"last_days": 3, "days_ago": [1, 2]}},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "definition.activity.within"

    r = _create(api, "static-def", {"birthday": {"in_days": [0, 1]}}, kind="static")
    assert r.status_code == 422


def test_the_preview_counts_and_shows_a_sample_without_saving(
    api: Api, session: Session, clock: FixedClock
) -> None:
    buyers = [make_member(session, clock) for _ in range(3)]
    make_member(session, clock)
    for m in buyers:
        make_purchase(session, clock, member_id=m.id)
    session.commit()
    definition = {"activity": "purchases", "measure": "exists"}
    r = api.post("/segments/preview", {"definition": definition, "sample": 2})
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 3
    assert [s["member_id"] for s in r.json()["sample"]] == sorted(m.id for m in buyers)[:2]
    assert r.json()["reads"] == ["purchases"]
    assert session.scalar(select(func.count()).select_from(Segment)) == 0
    r = api.post("/segments/preview", {"definition": {"activity": "nothing"}})
    assert r.status_code == 422


def test_members_of_a_segment_page_by_member_id(
    api: Api, session: Session, clock: FixedClock
) -> None:
    members = [make_member(session, clock, first_name="Anna") for _ in range(5)]
    session.commit()
    r = _create(api, "annas", {"field": "member.first_name", "op": "eq", "value": "Anna"})
    assert r.json()["size"] == 5
    sid = r.json()["id"]
    page = api.get(f"/segments/{sid}/members", params={"limit": 3}).json()
    assert [i["member_id"] for i in page["items"]] == [m.id for m in members[:3]]
    rest = api.get(f"/segments/{sid}/members", params={"after": page["next_after"]}).json()
    assert [i["member_id"] for i in rest["items"]] == [m.id for m in members[3:]]
    assert rest["next_after"] is None
    mine = api.get(f"/members/{members[0].id}/segments", scope="integration").json()
    assert [s["code"] for s in mine] == ["annas"]

    r = api.patch(
        f"/segments/{sid}",
        {"definition": {"field": "member.first_name", "op": "eq", "value": "Bo"}},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["size"], r.json()["revision"]) == (0, 2)
    assert api.get(f"/members/{members[0].id}/segments").json() == []
    history = api.get(f"/members/{members[0].id}/segments", params={"history": True}).json()
    assert [(h["code"], h["left_at"] is not None) for h in history] == [("annas", True)]

    r = api.client.delete(f"/api/v1/segments/{sid}", headers=api.headers())
    assert r.status_code == 200, r.text
    assert api.get(f"/segments/{sid}").status_code == 404


def test_a_static_list_is_imported_all_or_nothing(
    api: Api, session: Session, clock: FixedClock
) -> None:
    a = make_member(session, clock, email="a@example.se")
    b = make_member(session, clock, card_number="1234 5678")
    c = make_member(session, clock, external_id="shop-77")
    session.commit()
    sid = _create(api, "vip", None, kind="static").json()["id"]
    bad = (
        "email,card,customer_id\n"
        "a@example.se,,\n"
        "nobody@example.se,,\n"
        ",,\n"
        ",,shop-77\n"
        "not-an-email,,\n"
    )
    r = api.post(f"/segments/{sid}/members", {"csv": bad})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail.startswith("2 rows refused, nothing imported: line 3: no active member with")
    assert "line 4: no identity" not in detail  # an empty row is skipped, not refused
    assert "line 6:" in detail
    assert api.get(f"/segments/{sid}").json()["size"] == 0

    good = "email,card,customer_id\na@example.se,,\n,1234-5678,\n,,shop-77\n"
    r = api.post(f"/segments/{sid}/members", {"csv": good})
    assert r.status_code == 200, r.text
    assert (r.json()["added"], r.json()["size"]) == (3, 3)
    r = api.post(f"/segments/{sid}/members", {"csv": f"member_id\n{c.id}\n", "replace": True})
    assert (r.json()["added"], r.json()["removed"], r.json()["size"]) == (0, 2, 1)
    assert [s["code"] for s in api.get(f"/members/{c.id}/segments").json()] == ["vip"]
    assert api.get(f"/members/{a.id}/segments").json() == []
    assert b.id

    dyn = _create(api, "dyn", {"activity": "purchases", "measure": "exists"}).json()["id"]
    r = api.post(f"/segments/{dyn}/members", {"csv": good})
    assert (r.status_code, r.json()["error"]) == (409, "NotAStaticList")


def test_openapi_documents_the_bodies(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/segments"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/SegmentCreate")
    schemas = spec["components"]["schemas"]
    for name in (
        "Activity",
        "Ratio",
        "Top",
        "DayWindow",
        "SegmentAll",
        "Birthday",
        "PreviewRequest",
        "ListImport",
    ):
        assert name in schemas, name
    assert "/api/v1/segments/preview" in spec["paths"]
    assert "/api/v1/members/{member_id}/segments" in spec["paths"]
