"""The member 360, point adjustments, the dashboard and the member portal (a real SMTP
server on loopback receives the sign-in link), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from lojal.clock import FixedClock
from lojal.insight import queries, tasks
from lojal.insight.schemas import RefitRequest
from lojal.ledger.queries import balance_now
from lojal.pages import portal_access
from lojal.program.schemas import ProgramConfig
from tests.factories import line, make_member, make_purchase
from tests.insight.club import AS_OF, make_club
from tests.pages.conftest import Site, csrf_of


def test_find_a_member_by_email_and_see_the_360(site: Site, clock: FixedClock) -> None:
    member = make_member(site.session, clock, email="ada@example.se", first_name="Ada")
    site.session.commit()
    site.sign_in("store_staff")
    found = site.client.get("/staff/members", params={"q": "ADA@example.se"})
    assert found.status_code == 200
    assert f"member #{member.id}" in found.text
    assert "ada@example.se" in found.text


def test_adjusting_points_writes_the_ledger_with_the_reason(site: Site, clock: FixedClock) -> None:
    member = make_member(site.session, clock)
    site.session.commit()
    site.sign_in("marketer")
    page = site.client.get(f"/staff/members/{member.id}")
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key
    data = {
        "points": "250",
        "reason": "lost receipt",
        "key": key.group(1),
        "csrf": csrf_of(page.text),
    }
    for _ in range(2):  # the same form sent twice adjusts once
        answer = site.client.post(f"/staff/members/{member.id}/points", data=data)
        assert answer.status_code == 200
        assert "The points were adjusted." in answer.text
    assert balance_now(site.session, member.id, now=clock.now()).available == 250
    assert "+250 points: lost receipt" in answer.text


def test_the_dashboard_draws_its_charts_and_gives_each_as_csv(
    site: Site, clock: FixedClock
) -> None:
    member = make_member(site.session, clock, channel="store")
    assert member.enrolment_channel == "store"
    site.session.commit()
    site.sign_in("owner")
    page = site.client.get("/staff/")
    assert page.status_code == 200
    for chart in ("new-members", "points", "liability", "tiers"):
        assert f'data-chart="{chart}"' in page.text
        csv = site.client.get(f"/staff/dashboard/{chart}.csv")
        assert csv.status_code == 200
        assert csv.headers["content-type"].startswith("text/csv")
    assert "Points liability" in page.text
    assert site.client.get("/staff/dashboard/nothing.csv").status_code == 404


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _link(inbox: Inbox) -> str:
    body = inbox.messages[-1].get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"https?://\S+/portal/link/\S+", body.decode())
    assert found
    return found.group(0).split("/portal/", 1)[1]


def test_a_member_signs_in_by_an_emailed_link_once(
    site: Site, clock: FixedClock, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    site.client.app.state.settings.smtp_port = port  # type: ignore[attr-defined]
    member = make_member(site.session, clock, email="sig@example.se", locale="sv-SE")
    site.session.commit()
    token = site.form_token("/portal/sign-in")
    sent = site.client.post("/portal/sign-in", data={"email": "sig@example.se", "csrf": token})
    assert sent.status_code == 200
    assert inbox.messages[-1]["To"] == "sig@example.se"
    assert "Logga in" in str(inbox.messages[-1]["Subject"])
    path = _link(inbox)
    home = site.client.get(f"/portal/{path}")
    assert home.status_code == 200
    assert "Ditt medlemskort" in home.text
    assert "<svg" in home.text  # the QR code
    assert member.identity("card") in home.text
    # the link works once
    site.client.cookies.clear()
    again = site.client.get(f"/portal/{path}", follow_redirects=False)
    assert again.status_code == 400


def test_an_unknown_email_gets_the_same_answer_and_no_mail(
    site: Site, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    site.client.app.state.settings.smtp_port = port  # type: ignore[attr-defined]
    token = site.form_token("/portal/sign-in")
    answer = site.client.post(
        "/portal/sign-in", data={"email": "who@example.se", "csrf": token, "lang": "en"}
    )
    assert answer.status_code == 200
    assert "sign-in link is on its way" in answer.text
    assert inbox.messages == []


def test_a_link_expires(site: Site, clock: FixedClock) -> None:
    member = make_member(site.session, clock, email="late@example.se")
    link = portal_access.request_link(
        site.session, email="late@example.se", public_url="https://club", now=clock.now()
    )
    assert link is not None
    assert link.member_id == member.id
    site.session.commit()
    clock.advance(portal_access.LINK_LIFETIME)
    token = link.url.rsplit("/", 1)[1]
    assert site.client.get(f"/portal/link/{token}").status_code == 400


def test_a_member_withdraws_a_consent_with_csrf(site: Site, clock: FixedClock) -> None:
    member = make_member(
        site.session,
        clock,
        email="c@example.se",
        locale="en",
        consents=[{"channel": "email", "granted": True}],
    )
    link = portal_access.request_link(
        site.session, email="c@example.se", public_url="https://club", now=clock.now()
    )
    assert link is not None
    site.session.commit()
    home = site.client.get("/portal/link/" + link.url.rsplit("/", 1)[1])
    assert "Offers by email: on" in home.text
    refused = site.client.post(
        "/portal/consents", data={"channel": "email", "granted": "false", "csrf": "nope"}
    )
    assert refused.status_code == 403
    done = site.client.post(
        "/portal/consents",
        data={"channel": "email", "granted": "false", "csrf": csrf_of(home.text)},
    )
    assert done.status_code == 200
    assert "Offers by email: off" in done.text
    assert member.id


def test_the_dashboard_shows_ifrs_15_and_the_insight_with_their_csv(
    site: Site, clock: FixedClock
) -> None:
    member = make_member(site.session, clock)
    make_purchase(site.session, clock, member_id=member.id, lines=[line(unit_price_minor=10_000)])
    site.session.commit()
    site.sign_in("marketer")
    page = site.client.get("/staff/")
    assert page.status_code == 200
    assert "Contract liability (IFRS 15)" in page.text
    assert "no cohort has closed yet: 100 % assumed" in page.text
    assert "No insight figures are stored yet" in page.text  # before the first refit
    revenue = site.client.get("/staff/dashboard/points-revenue.csv")
    assert revenue.status_code == 200
    assert revenue.text.splitlines()[0] == ",Allocated,Recognised"
    # 10,000 öre earning 100 points worth 100 öre: 10,000 × 100 / 10,100 = 99 öre allocated
    assert "2026-03,SEK\xa00.99,SEK\xa00.00" in revenue.text
    rate = site.client.get("/staff/dashboard/redemption-rate.csv")
    assert "2026-03,100.0 %" in rate.text
    assert site.client.get("/staff/dashboard/rfm.csv").status_code == 404  # not fitted


def test_the_insight_charts_read_the_stored_figures(
    site: Site, clock: FixedClock, program: ProgramConfig
) -> None:
    make_club(site.session, clock)
    tasks.refit(site.session, now=clock.now(), request=RefitRequest(as_of=AS_OF))
    site.session.commit()
    site.sign_in("read_only")
    page = site.client.get("/staff/")
    assert page.status_code == 200
    for chart in ("rfm", "clv", "churn", "cohorts"):
        assert f'data-chart="{chart}"' in page.text
        answer = site.client.get(f"/staff/dashboard/{chart}.csv")
        assert answer.status_code == 200, chart
        assert answer.headers["content-type"].startswith("text/csv")
    rfm = site.client.get("/staff/dashboard/rfm.csv").text.splitlines()
    assert rfm[0] == "R \\ FM,FM 1,FM 2,FM 3,FM 4,FM 5"
    cells = [row.split(",")[1:] for row in rfm[1:]]
    assert len(cells) == 5
    assert sum(int(cell.split(" · ")[0]) for row in cells for cell in row) == 10
    cohorts = site.client.get("/staff/dashboard/cohorts.csv").text.splitlines()
    assert cohorts[0].startswith("First purchase,0,1,")
    assert any(",100.0 %" in row for row in cohorts[1:])
    top = queries.top(site.session)
    share = f"{100 * top.revenue_share:.1f} %"
    assert share in page.text
