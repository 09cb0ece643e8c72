"""Staff sign-in, sessions, CSRF, lock-out and roles, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lojal.clock import FixedClock
from lojal.pages import accounts
from lojal.pages.errors import StaffUserExists, UnknownRole, WeakPassword
from lojal.pages.models import StaffSession, StaffUser
from tests.factories import make_member
from tests.pages.conftest import PASSWORD, ROLE_EMAILS, Site


def test_a_password_is_stored_as_an_argon2id_hash(site: Site) -> None:
    user = site.session.scalar(select(StaffUser).where(StaffUser.email == "owner@example.com"))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_adding_users_refuses_unknown_roles_short_passwords_and_twins(
    site: Site, clock: FixedClock
) -> None:
    with pytest.raises(UnknownRole):
        accounts.add_user(
            site.session, email="a@b.se", role="boss", password=PASSWORD, now=clock.now()
        )
    with pytest.raises(WeakPassword):
        accounts.add_user(
            site.session, email="a@b.se", role="owner", password="short", now=clock.now()
        )
    with pytest.raises(StaffUserExists):
        accounts.add_user(
            site.session,
            email="Owner@Example.com",
            role="owner",
            password=PASSWORD,
            now=clock.now(),
        )


def test_pages_send_whoever_is_not_signed_in_to_the_sign_in_page(site: Site) -> None:
    for path in ("/staff/", "/staff/members", "/staff/program"):
        answer = site.client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/staff/sign-in"


def test_the_session_cookie_is_signed_httponly_lax_and_secure(site: Site) -> None:
    token = site.form_token("/staff/sign-in")
    answer = site.client.post(
        "/staff/sign-in",
        data={"email": ROLE_EMAILS["owner"], "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    cookie = next(
        v
        for k, v in answer.headers.multi_items()
        if k == "set-cookie" and v.startswith("lojal_staff=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    row = site.session.scalar(select(StaffSession))
    assert row is not None
    token = value.rsplit(".", 1)[0]  # the signed token; the row holds only its hash
    assert row.token_hash == accounts.token_hash(token)
    assert token not in row.token_hash


def test_a_forged_cookie_opens_nothing(site: Site) -> None:
    site.client.cookies.set("lojal_staff", "made-up.signature", domain="testserver.local")
    answer = site.client.get("/staff/", follow_redirects=False)
    assert answer.status_code == 303


def test_a_wrong_password_is_refused_and_the_right_one_signs_in(site: Site) -> None:
    token = site.form_token("/staff/sign-in")
    wrong = site.client.post(
        "/staff/sign-in",
        data={"email": ROLE_EMAILS["owner"], "password": "not it at all", "csrf": token},
    )
    assert wrong.status_code == 401
    assert "The email or the password is wrong." in wrong.text
    site.sign_in("owner")
    assert site.client.get("/staff/").status_code == 200


def test_sign_out_ends_the_session_at_once(site: Site) -> None:
    csrf = site.sign_in("owner")
    cookie = site.client.cookies.get("lojal_staff")
    answer = site.client.post("/staff/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    site.client.cookies.set("lojal_staff", cookie or "")  # the old cookie, sent again
    assert site.client.get("/staff/members", follow_redirects=False).status_code == 303


def test_removing_a_user_signs_them_out_everywhere(site: Site) -> None:
    site.sign_in("marketer")
    accounts.remove_user(site.session, email=ROLE_EMAILS["marketer"])
    site.session.commit()
    assert site.client.get("/staff/members", follow_redirects=False).status_code == 303


def test_a_session_expires(site: Site, clock: FixedClock) -> None:
    site.sign_in("owner")
    clock.advance(accounts.SESSION_LIFETIME + timedelta(seconds=1))
    assert site.client.get("/staff/", follow_redirects=False).status_code == 303


def test_a_form_without_its_csrf_token_is_refused(site: Site, clock: FixedClock) -> None:
    member = make_member(site.session, clock)
    site.session.commit()
    site.sign_in("owner")
    for data in ({}, {"csrf": "guessed"}):
        answer = site.client.post(
            f"/staff/members/{member.id}/points",
            data={"points": "100", "reason": "goodwill", "key": "k" * 10, **data},
        )
        assert answer.status_code == 403
        assert "did not come from this site" in answer.text
    no_token = site.client.post(
        "/staff/sign-in", data={"email": ROLE_EMAILS["owner"], "password": PASSWORD}
    )
    assert no_token.status_code == 403


def test_an_account_locks_after_five_failures_even_for_the_right_password(site: Site) -> None:
    token = site.form_token("/staff/sign-in")
    for _ in range(accounts.ACCOUNT_LIMIT):
        answer = site.client.post(
            "/staff/sign-in",
            data={"email": ROLE_EMAILS["owner"], "password": "wrong password!", "csrf": token},
        )
        assert answer.status_code == 401
    locked = site.client.post(
        "/staff/sign-in",
        data={"email": ROLE_EMAILS["owner"], "password": PASSWORD, "csrf": token},
    )
    assert locked.status_code == 429
    assert "This account is locked after 5 failed sign-ins" in locked.text
    # another account from the same address still signs in
    site.sign_in("marketer")


def test_the_lock_lifts_after_the_window(site: Site, clock: FixedClock) -> None:
    token = site.form_token("/staff/sign-in")
    for _ in range(accounts.ACCOUNT_LIMIT):
        site.client.post(
            "/staff/sign-in",
            data={"email": ROLE_EMAILS["owner"], "password": "wrong password!", "csrf": token},
        )
    clock.advance(accounts.LOCK_WINDOW + timedelta(seconds=1))
    site.sign_in("owner")


def test_an_address_locks_after_twenty_failures_whatever_the_email(site: Site) -> None:
    token = site.form_token("/staff/sign-in")
    for n in range(accounts.ADDRESS_LIMIT):
        site.client.post(
            "/staff/sign-in",
            data={"email": f"guess{n}@example.com", "password": "wrong password!", "csrf": token},
        )
    locked = site.client.post(
        "/staff/sign-in",
        data={"email": ROLE_EMAILS["read_only"], "password": PASSWORD, "csrf": token},
    )
    assert locked.status_code == 429
    assert "Too many failed sign-ins from this address" in locked.text


@pytest.mark.parametrize(
    ("role", "dashboard", "settings", "adjust"),
    [
        ("owner", 200, 200, 303),
        ("marketer", 200, 200, 303),
        ("store_staff", 403, 403, 403),
        ("read_only", 200, 200, 403),
    ],
)
def test_each_role_sees_and_changes_only_what_it_may(
    site: Site, clock: FixedClock, role: str, dashboard: int, settings: int, adjust: int
) -> None:
    member = make_member(site.session, clock)
    site.session.commit()
    csrf = site.sign_in(role)
    assert site.client.get("/staff/").status_code == dashboard
    assert site.client.get("/staff/program").status_code == settings
    assert site.client.get("/staff/dashboard/points.csv").status_code == dashboard
    assert site.client.get(f"/staff/members/{member.id}").status_code == 200
    answer = site.client.post(
        f"/staff/members/{member.id}/points",
        data={"points": "100", "reason": "goodwill", "key": "adjust-key-1", "csrf": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == adjust


def test_store_staff_see_no_link_to_what_they_may_not_open(site: Site) -> None:
    site.sign_in("store_staff")
    page = site.client.get("/staff/members").text
    assert 'href="/staff/program"' not in page
    assert 'href="/staff/"' not in page


def test_pages_are_not_in_the_openapi_document(site: Site) -> None:
    paths = site.client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/staff", "/portal", "/static"))]
