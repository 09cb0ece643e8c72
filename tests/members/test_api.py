from __future__ import annotations

from tests.conftest import Api


def test_enrol_in_store_and_find_by_email(api: Api) -> None:
    r = api.post("/members", {"email": "Anna@Example.se", "channel": "store"}, scope="web")
    assert r.status_code == 201, r.text
    member = r.json()
    assert member["email"] == "anna@example.se"
    assert member["enrolment_channel"] == "store"
    found = api.get("/members", params={"email": "ANNA@example.se"}, scope="web")
    assert found.status_code == 200
    assert found.json()["id"] == member["id"]


import pytest  # noqa: E402

from tests.factories import member_payload, purchase_payload  # noqa: E402


def _fields(response: object) -> list[str]:
    body = response.json()  # type: ignore[attr-defined]
    return [body.get("field")] + [e["field"] for e in body.get("errors", [])]


@pytest.mark.parametrize("channel", ["store", "web", "app", "api", "import"])
def test_enrol_records_the_channel(api: Api, channel: str) -> None:
    r = api.post("/members", member_payload(channel=channel), scope="web")
    assert r.status_code == 201, r.text
    assert r.json()["enrolment_channel"] == channel
    again = api.get(f"/members/{r.json()['id']}", scope="web")
    assert again.json()["enrolment_channel"] == channel


def test_enrol_needs_an_identity(api: Api) -> None:
    r = api.post("/members", {"channel": "store", "first_name": "Anna"}, scope="web")
    assert r.status_code == 422
    assert r.json()["error"] == "ValidationError"
    assert "email" in r.json()["detail"]


def test_enrol_rejects_a_bad_email_naming_the_field(api: Api) -> None:
    r = api.post("/members", {"email": "not-an-email"}, scope="web")
    assert r.status_code == 422, r.text
    assert "email" in _fields(r)


def test_identities_are_normalised(api: Api) -> None:
    r = api.post(
        "/members",
        {
            "email": "  Eva.Berg@Example.SE ",
            "phone": "070-123 45 67",
            "card_number": "1234 5678-9012",
            "external_id": " shop-42 ",
        },
        scope="web",
    )
    assert r.status_code == 201, r.text
    member = r.json()
    assert member["email"] == "eva.berg@example.se"
    assert member["phone"] == "+46701234567"
    assert member["card_number"] == "123456789012"
    assert member["external_id"] == "shop-42"


@pytest.mark.parametrize(
    ("field", "value", "other"),
    [
        ("email", "taken@example.se", "TAKEN@example.se"),
        ("phone", "+46701234567", "070-123 45 67"),
        ("card_number", "5555000011112222", "5555 0000 1111 2222"),
        ("external_id", "ext-1", "ext-1"),
    ],
)
def test_identities_are_unique(api: Api, field: str, value: str, other: str) -> None:
    first = api.post("/members", {field: value}, scope="web")
    assert first.status_code == 201, first.text
    second = api.post("/members", {field: other}, scope="web")
    assert second.status_code == 409, second.text
    assert second.json()["error"] == "IdentityTaken"
    assert second.json()["field"] == field


def test_update_to_a_taken_identity_is_refused(api: Api) -> None:
    api.post("/members", {"email": "one@example.se"}, scope="web")
    two = api.post("/members", {"email": "two@example.se"}, scope="web").json()
    r = api.patch(f"/members/{two['id']}", {"email": "One@example.se"}, scope="web")
    assert r.status_code == 409
    assert r.json()["error"] == "IdentityTaken"
    assert r.json()["field"] == "email"


def test_lookup_by_each_identity(api: Api) -> None:
    member = api.post(
        "/members",
        {
            "email": "look@example.se",
            "phone": "0701234568",
            "card_number": "4444333322221111",
            "external_id": "crm-7",
        },
        scope="web",
    ).json()
    for params in (
        {"email": "LOOK@example.se"},
        {"phone": "+46 70 123 45 68"},
        {"card": "4444 3333 2222 1111"},
        {"external_id": "crm-7"},
    ):
        r = api.get("/members", params=params, scope="web")
        assert r.status_code == 200, (params, r.text)
        assert r.json()["id"] == member["id"]
    missing = api.get("/members", params={"email": "nobody@example.se"}, scope="web")
    assert missing.status_code == 404
    assert missing.json()["error"] == "MemberNotFound"
    two = api.get("/members", params={"email": "look@example.se", "card": "1"}, scope="web")
    assert two.status_code == 422


def test_a_card_number_is_generated_when_none_is_given(api: Api) -> None:
    member = api.post("/members", {"email": "card@example.se"}, scope="web").json()
    card = member["card_number"]
    assert card is not None
    assert len(card) == 16
    assert card.isdigit()
    assert api.get("/members", params={"card": card}, scope="web").json()["id"] == member["id"]


def test_consent_per_channel_with_time_and_source(api: Api) -> None:
    member = api.post(
        "/members",
        {
            "email": "c@example.se",
            "consents": [{"channel": "email", "granted": True, "source": "store-signup"}],
        },
        scope="web",
    ).json()
    assert member["consents"]["email"]["granted"] is True
    assert member["consents"]["email"]["source"] == "store-signup"
    r = api.post(
        f"/members/{member['id']}/consents",
        {"channel": "sms", "granted": False, "source": "app"},
        scope="web",
    )
    assert r.status_code == 200, r.text
    consents = r.json()["consents"]
    assert consents["sms"]["granted"] is False
    assert consents["sms"]["source"] == "app"
    assert consents["sms"]["recorded_at"].startswith("2026-03-02T09:00")
    assert consents["email"]["granted"] is True
    r = api.post(
        f"/members/{member['id']}/consents",
        {"channel": "email", "granted": False, "source": "web"},
        scope="web",
    )
    assert r.json()["consents"]["email"] == {
        **r.json()["consents"]["email"],
        "granted": False,
        "source": "web",
    }
    bad = api.post(
        f"/members/{member['id']}/consents", {"channel": "fax", "granted": True}, scope="web"
    )
    assert bad.status_code == 422
    assert "channel" in _fields(bad)


def test_update_member(api: Api) -> None:
    member = api.post(
        "/members",
        {"email": "u@example.se", "first_name": "Ulla", "attributes": {"a": 1}},
        scope="web",
    ).json()
    r = api.patch(
        f"/members/{member['id']}",
        {"last_name": "Ek", "phone": "0701234569", "attributes": {"b": 2}},
        scope="web",
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["first_name"] == "Ulla"
    assert body["last_name"] == "Ek"
    assert body["phone"] == "+46701234569"
    assert body["attributes"] == {"a": 1, "b": 2}
    assert (
        api.get("/members", params={"phone": "0701234569"}, scope="web").json()["id"]
        == member["id"]
    )


def test_unknown_member_is_404(api: Api) -> None:
    assert api.get("/members/999999", scope="web").status_code == 404
    r = api.patch("/members/999999", {"first_name": "X"}, scope="web")
    assert r.status_code == 404


def test_purchase_before_enrolment_is_credited_on_enrolment(api: Api) -> None:
    r = api.post("/purchases", purchase_payload("early-1", email="Early@example.se"), scope="web")
    assert r.status_code == 201, r.text
    assert r.json()["member_id"] is None
    assert r.json()["points"] == 0
    member = api.post("/members", {"email": "early@example.se"}, scope="web").json()
    points = api.get(f"/members/{member['id']}/points", scope="web").json()
    assert points["pending"] == 100
    assert points["lifetime_earned"] == 100
    again = api.post(
        "/purchases", purchase_payload("early-1", email="Early@example.se"), scope="web"
    )
    assert again.status_code == 200
    assert again.json()["member_id"] == member["id"]
    assert again.json()["points"] == 100


def test_merge_keeps_points_and_identities(api: Api) -> None:
    a = api.post("/members", {"email": "a@example.se"}, scope="web").json()
    b = api.post("/members", {"email": "b@example.se", "phone": "0701112233"}, scope="web").json()
    api.post("/purchases", purchase_payload(member_id=a["id"]), scope="web")
    api.post("/purchases", purchase_payload(member_id=b["id"]), scope="web")
    r = api.post(f"/members/{a['id']}/merge", {"from_member_id": b["id"]})
    assert r.status_code == 200, r.text
    assert (
        api.get("/members", params={"email": "b@example.se"}, scope="web").json()["id"] == a["id"]
    )
    assert api.get("/members", params={"phone": "0701112233"}, scope="web").json()["id"] == a["id"]
    assert api.get(f"/members/{a['id']}/points", scope="web").json()["pending"] == 200
    pos = api.post(f"/members/{a['id']}/merge", {"from_member_id": b["id"]}, scope="web")
    assert pos.status_code == 403


def test_close_forfeits_points_and_refuses_spend(api: Api) -> None:
    m = api.post("/members", {"email": "close@example.se"}, scope="web").json()
    api.post(f"/members/{m['id']}/points/adjust", {"points": 50, "reason": "welcome"})
    r = api.post(f"/members/{m['id']}/close")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
    points = api.get(f"/members/{m['id']}/points", scope="web").json()
    assert points["available"] == 0
    assert points["lifetime_expired"] == 50
    spend = api.post(f"/members/{m['id']}/points/spend", {"points": 1}, scope="web")
    assert spend.status_code == 409
    assert spend.json()["error"] == "MemberClosed"


def test_a_new_email_replaces_the_old_one(api: Api) -> None:
    m = api.post("/members", {"email": "old@example.se"}, scope="web").json()["id"]
    r = api.patch(f"/members/{m}", {"email": "New@example.se"}, scope="web")
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "new@example.se"
    assert api.get("/members", params={"email": "new@example.se"}, scope="web").json()["id"] == m
    assert api.get("/members", params={"email": "old@example.se"}, scope="web").status_code == 404
    other = api.post("/members", {"email": "old@example.se"}, scope="web")
    assert other.status_code == 201


def test_merges_that_would_join_a_member_with_itself_are_refused(api: Api) -> None:
    a = api.post("/members", {"email": "ma@example.se"}, scope="web").json()["id"]
    b = api.post("/members", {"email": "mb@example.se"}, scope="web").json()["id"]
    api.post(f"/members/{a}/points/adjust", {"points": 70, "reason": "test"})
    assert api.post(f"/members/{a}/merge", {"from_member_id": a}).status_code == 409
    assert api.post(f"/members/{a}/merge", {"from_member_id": b}).status_code == 200
    assert api.post(f"/members/{a}/merge", {"from_member_id": b}).status_code == 409
    back = api.post(f"/members/{b}/merge", {"from_member_id": a})
    assert back.status_code == 409, back.text
    assert back.json()["error"] == "CannotMerge"
    assert api.post(f"/members/{a}/merge", {"from_member_id": 999999}).status_code == 404
    assert api.get(f"/members/{a}/points", scope="web").json()["available"] == 70


def test_invalid_identities_are_422_naming_the_field(api: Api) -> None:
    for body, field in (
        ({"phone": "123"}, "phone"),
        ({"card_number": "!!!"}, "card_number"),
        ({"external_id": "   "}, "external_id"),
    ):
        r = api.post("/members", body, scope="web")
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == field


def test_closed_member_cannot_consent_or_close_again(api: Api) -> None:
    m = api.post("/members", {"email": "closed@example.se"}, scope="web").json()["id"]
    assert api.post(f"/members/{m}/close").status_code == 200
    r = api.post(f"/members/{m}/consents", {"channel": "sms", "granted": True}, scope="web")
    assert r.status_code == 409
    assert api.post(f"/members/{m}/close").status_code == 409
    purchase = api.post("/purchases", purchase_payload(member_id=m), scope="web")
    assert purchase.status_code == 201
    assert purchase.json()["points"] == 0
    assert api.get(f"/members/{m}/points", scope="web").json()["pending"] == 0


def test_enrolled_at_without_an_offset_is_utc(api: Api) -> None:
    r = api.post(
        "/members", {"email": "naive@example.se", "enrolled_at": "2025-01-01T10:00:00"}, scope="web"
    )
    assert r.status_code == 201, r.text
    assert r.json()["enrolled_at"].startswith("2025-01-01T10:00:00")
    assert r.json()["enrolled_at"].endswith(("Z", "+00:00"))
