"""A member app: its publishable key signs a member in with an emailed one-time code, and the
member session reaches that member's own data only (OWASP API 2023: API1 BOLA, API2 broken
authentication, API5 function-level authorisation). On both databases."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.access import service as access
from lojal.access.models import SignInCode
from lojal.clock import FixedClock
from lojal.messaging.models import Message
from tests.conftest import Api
from tests.factories import purchase_payload, unique


def _member(api: Api) -> dict[str, Any]:
    r = api.post("/members", {"email": f"{unique('app')}@example.se"}, scope="web")
    assert r.status_code == 201, r.text
    member: dict[str, Any] = r.json()
    adjusted = api.post(f"/members/{member['id']}/points/adjust", {"points": 40, "reason": "x"})
    assert adjusted.status_code == 200, adjusted.text
    return member


def _code(session: Session, member_id: int) -> str:
    bodies = session.scalars(
        select(Message.body).where(Message.member_id == member_id).order_by(Message.id)
    ).all()
    found = re.search(r"\b(\d{6})\b", bodies[-1])
    assert found is not None
    return found.group(1)


def _app(api: Api, path: str, body: Any) -> Any:
    return api.post(path, body, scope="app")


def _sign_in(api: Api, session: Session, member: dict[str, Any]) -> dict[str, str]:
    asked = _app(api, "/member-sessions/code", {"email": member["email"]})
    assert asked.status_code == 202, asked.text
    code = _code(session, member["id"])
    opened = _app(api, "/member-sessions", {"email": member["email"], "code": code})
    assert opened.status_code == 201, opened.text
    assert opened.json()["member_id"] == member["id"]
    return {"Authorization": f"Bearer {opened.json()['token']}"}


def test_a_code_is_emailed_to_members_only_and_the_answer_tells_nobody(
    api: Api, session: Session
) -> None:
    member = _member(api)
    known = _app(api, "/member-sessions/code", {"email": member["email"]})
    unknown = _app(api, "/member-sessions/code", {"email": "nobody@example.se"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    [message] = session.scalars(select(Message).where(Message.member_id == member["id"])).all()
    assert (message.channel, message.purpose) == ("email", "transactional")
    # the code is never stored as it is
    code = _code(session, member["id"])
    assert code not in str(session.execute(select(SignInCode.code_hash)).all())


def test_the_session_reaches_its_own_member_and_no_other(api: Api, session: Session) -> None:
    me, other = _member(api), _member(api)
    auth = _sign_in(api, session, me)
    c = api.client
    assert c.get(f"/api/v1/members/{me['id']}/points", headers=auth).json()["available"] == 40
    assert c.get(f"/api/v1/members/{me['id']}", headers=auth).json()["email"] == me["email"]
    for path in ("", "/points", "/ledger", "/rewards", "/coupons", "/inbox", "/tier"):
        r = c.get(f"/api/v1/members/{other['id']}{path}", headers=auth)
        assert (r.status_code, r.json()["error"]) == (404, "MemberNotFound"), path
        assert other["email"] not in r.text
    # another member's points are not spent; nor may a member session search members
    r = c.post(f"/api/v1/members/{other['id']}/points/spend", json={"points": 1}, headers=auth)
    assert r.status_code in (403, 404)
    assert (
        c.get("/api/v1/members", params={"email": other["email"]}, headers=auth).status_code == 403
    )
    assert api.get(f"/members/{other['id']}/points", scope="web").json()["available"] == 40


def test_a_member_session_is_refused_what_only_the_shop_or_staff_do(
    api: Api, session: Session
) -> None:
    me = _member(api)
    auth = _sign_in(api, session, me)
    c = api.client
    refused = [
        c.patch(f"/api/v1/members/{me['id']}", json={"email": "x@example.se"}, headers=auth),
        c.post("/api/v1/purchases", json=purchase_payload(member_id=me["id"]), headers=auth),
        c.post(
            f"/api/v1/members/{me['id']}/points/adjust",
            json={"points": 9, "reason": "x"},
            headers=auth,
        ),
        c.get("/api/v1/program", headers=auth),
        c.get("/api/v1/api-keys", headers=auth),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    # the catalogue is open to the app, with or without a member
    assert c.get("/api/v1/rewards", headers=auth).status_code == 200
    assert api.get("/rewards", scope="app").status_code == 200
    # the app key alone reaches no member
    assert api.get(f"/members/{me['id']}/points", scope="app").status_code == 403


def test_a_wrong_code_counts_and_the_fifth_burns_it(api: Api, session: Session) -> None:
    me = _member(api)
    assert _app(api, "/member-sessions/code", {"email": me["email"]}).status_code == 202
    code = _code(session, me["id"])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(access.MAX_ATTEMPTS):
        r = _app(api, "/member-sessions", {"email": me["email"], "code": wrong})
        assert (r.status_code, r.json()["error"]) == (422, "SignInCodeInvalid")
        assert r.json()["field"] == "code"
    r = _app(api, "/member-sessions", {"email": me["email"], "code": code})
    assert (r.status_code, r.json()["error"]) == (422, "SignInCodeInvalid")


def test_a_code_works_once_and_not_after_it_expires(
    api: Api, session: Session, clock: FixedClock
) -> None:
    me = _member(api)
    _sign_in(api, session, me)
    used = _code(session, me["id"])
    r = _app(api, "/member-sessions", {"email": me["email"], "code": used})
    assert r.status_code == 422
    assert _app(api, "/member-sessions/code", {"email": me["email"]}).status_code == 202
    late = _code(session, me["id"])
    clock.advance(access.CODE_LIFETIME + timedelta(seconds=1))
    assert _app(api, "/member-sessions", {"email": me["email"], "code": late}).status_code == 422


def test_signing_out_expiry_and_revoking_the_app_end_the_session(
    api: Api, session: Session, clock: FixedClock
) -> None:
    me = _member(api)
    c = api.client
    points = f"/api/v1/members/{me['id']}/points"
    auth = _sign_in(api, session, me)
    assert c.delete("/api/v1/member-sessions/current", headers=auth).status_code == 200
    assert (
        c.get(points, headers=auth).status_code,
        c.get(points, headers=auth).json()["error"],
    ) == (
        401,
        "InvalidApiKey",
    )
    auth = _sign_in(api, session, me)
    clock.advance(access.SESSION_LIFETIME + timedelta(seconds=1))
    assert c.get(points, headers=auth).status_code == 401
    auth = _sign_in(api, session, me)
    assert c.get(points, headers=auth).status_code == 200
    prefix = api.keys["app"].split("_")[1]
    assert api.post(f"/api-keys/{prefix}/revoke").status_code == 200
    assert c.get(points, headers=auth).status_code == 401


def test_a_closed_member_s_session_stops(api: Api, session: Session) -> None:
    me = _member(api)
    auth = _sign_in(api, session, me)
    points = f"/api/v1/members/{me['id']}/points"
    assert api.client.get(points, headers=auth).status_code == 200
    assert api.post(f"/members/{me['id']}/close").status_code == 200
    assert api.client.get(points, headers=auth).status_code == 401


def test_the_code_is_emailed_in_the_members_language(api: Api, session: Session) -> None:
    said: dict[str | None, tuple[str, str]] = {}
    for locale in ("fi", "nb", "en", None):
        body = {"email": f"{unique('lang')}@example.se"} | ({"locale": locale} if locale else {})
        r = api.post("/members", body, scope="web")
        assert r.status_code == 201, r.text
        assert _app(api, "/member-sessions/code", {"email": body["email"]}).status_code == 202
        [message] = session.scalars(
            select(Message).where(Message.member_id == r.json()["id"])
        ).all()
        said[locale] = (message.subject or "", message.body)
        assert _code(session, r.json()["id"]) in message.body
    assert said["fi"][0].startswith("Kirjautumiskoodisi")
    assert said["nb"][0].startswith("Din innloggingskode")
    assert said["en"][0].startswith("Your sign-in code")
    # no language of their own: the club's (a club in Stockholm speaks Swedish)
    assert said[None][0].startswith("Din inloggningskod")
    assert "10 minuter" in said[None][1]
