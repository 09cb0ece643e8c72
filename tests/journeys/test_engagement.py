"""Engagement comes back as activity: a journey's email, sent to a real SMTP server
(aiosmtpd) with tracking on, carries an open pixel and tracked links; fetching them through
the app records ``email_opened`` and ``email_clicked`` naming the message (a click is sent on
to the link with a 302), the journey's figures count them, and a segment can use the
click-through rate. A tampered token, or one for a place lojal did not sign, is a 404 — no
open redirect. A bounce and an unsubscribe are recorded too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select

from lojal.activities.models import Event
from lojal.app import create_app
from lojal.journeys import queries
from lojal.journeys import service as journeys
from lojal.journeys.definition import JourneyDefinition
from lojal.messaging.tracking import Tracker, secret_of
from lojal.segments import queries as segment_queries
from lojal.segments.definition import parse_definition
from tests.conftest import PEPPER
from tests.journeys.club import Club
from tests.smtp import Sink, free_port
from tests.webhooks.receiver import receiving

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LINK = "https://shop.example/kampanj?a=1&b=två"
NEWS: dict[str, Any] = {
    "code": "nyheter",
    "name": "Nyheter",
    "trigger": {"kind": "enrolled"},
    "steps": [{"send": {"channel": "email", "template": "nytt"}}],
    "templates": {
        "nytt": {
            "subject": "Nytt i butiken",
            "body": f"Hej {{{{ member.first_name }}}}! Läs mer på {LINK}.\nVälkommen in.",
        }
    },
}


class BouncingSink(Sink):
    """Takes every message but those to ``studs@…``, which it refuses for good."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("studs@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@contextmanager
def bouncing_smtp() -> Iterator[tuple[Sink, int]]:
    sink = BouncingSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def club(fresh_engine: Any) -> Iterator[Club]:
    with bouncing_smtp() as smtp, receiving() as provider:
        made = Club(fresh_engine, smtp, provider, START, track=True)
        with made.session() as session:
            definition = JourneyDefinition.model_validate(NEWS)
            journeys.add(session, definition=definition, now=START, enabled=True)
        try:
            yield made
        finally:
            made.close()


@pytest.fixture
def client(club: Club) -> Iterator[TestClient]:
    with TestClient(create_app(club.settings, clock=club.clock)) as made:
        yield made


def _parts(mail: EmailMessage) -> tuple[str, str]:
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def _path(url: str) -> str:
    assert url.startswith("https://club.example/")
    return url.removeprefix("https://club.example")


def _events(club: Club, type_: str) -> list[Event]:
    with club.session() as session:
        return list(session.scalars(select(Event).where(Event.type == type_).order_by(Event.id)))


def test_opens_and_clicks_come_back_as_activity(club: Club, client: TestClient) -> None:
    member = club.member("lasare@example.se", "email", first_name="Lo")
    club.run()
    news = [m for m in club.mails("lasare@example.se") if m["Subject"] == "Nytt i butiken"]
    (mail,) = news
    text, html = _parts(mail)
    (message,) = [m for m in club.messages(member) if m.subject == "Nytt i butiken"]
    # the link is tracked, in the text and in the HTML; the unsubscribe link is not
    assert LINK not in text
    (tracked,) = re.findall(r"https://club\.example/track/click/[\w\-]+(?:\.[\w\-]+)*", text)
    assert f"Läs mer på {tracked}. Välkommen" in " ".join(text.split())
    assert f'href="{tracked}"' in html
    assert "https://club.example/unsubscribe/" in text
    (pixel,) = re.findall(
        r'<img src="(https://club\.example/track/open/[\w\-]+(?:\.[\w\-]+)*)"', html
    )
    # open, twice (a mail client loads the image again): one event
    for _ in range(2):
        seen = client.get(_path(pixel))
        assert (seen.status_code, seen.headers["content-type"]) == (200, "image/gif")
        assert seen.content.startswith(b"GIF89a")
        assert "ratelimit" in seen.headers  # public, but counted per address
    (opened,) = _events(club, "email_opened")
    assert (opened.member_id, opened.properties["message_id"]) == (member, message.id)
    # click: sent on to the link as written, and recorded
    went = client.get(_path(tracked), follow_redirects=False)
    # (the Location header is ASCII: the link's å percent-encoded)
    sent_on = "https://shop.example/kampanj?a=1&b=tv%C3%A5"
    assert (went.status_code, went.headers["location"]) == (302, sent_on)
    (clicked,) = _events(club, "email_clicked")
    assert clicked.properties == {
        "message_id": message.id,
        "url": LINK,
        "batch": "journey:nyheter",
    }
    # the journey's figures count them, and a segment can use the click-through rate
    with club.session() as session:
        figures = queries.figures(session, queries.get(session, "nyheter"), now=club.clock.now())
        assert (figures.sent, figures.delivered, figures.opened, figures.clicked) == (1, 1, 1, 1)
        clicking = parse_definition(
            {
                "ratio": {
                    "numerator": {
                        "activity": "events",
                        "measure": "count",
                        "where": {"field": "event.type", "op": "eq", "value": "email_clicked"},
                    },
                    "denominator": {
                        "activity": "events",
                        "measure": "count",
                        "where": {"field": "event.type", "op": "eq", "value": "email_opened"},
                    },
                },
                "op": "gte",
                "value": 1,
            }
        )
        holding = segment_queries.holding(session, clicking, now=club.clock.now())
    assert holding == [member]


def test_tampered_and_foreign_tokens_are_refused(club: Club, client: TestClient) -> None:
    member = club.member("nyfiken@example.se", "email")
    club.run()
    (mail,) = [m for m in club.mails("nyfiken@example.se") if m["Subject"] == "Nytt i butiken"]
    text, html = _parts(mail)
    (tracked,) = re.findall(r"https://club\.example/track/click/[\w\-]+(?:\.[\w\-]+)*", text)
    (pixel,) = re.findall(
        r'<img src="(https://club\.example/track/open/[\w\-]+(?:\.[\w\-]+)*)"', html
    )
    token = tracked.rsplit("/", 1)[1]
    flipped = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.get(f"/track/click/{flipped}", follow_redirects=False).status_code == 404
    assert client.get(f"/track/open/{pixel.rsplit('/', 1)[1]}x").status_code == 404
    # a click token is no open token, and the other way round
    assert client.get(f"/track/open/{token}").status_code == 404
    assert client.get(f"/track/click/{pixel.rsplit('/', 1)[1]}").status_code == 404
    # a token for another place, signed with another secret, leads nowhere
    (message,) = [m for m in club.messages(member) if m.subject == "Nytt i butiken"]
    stranger = Tracker(secret_of("not the club's", PEPPER), "https://club.example")
    evil = stranger.click_url(message.id, "https://evil.example/")
    answer = client.get(_path(evil), follow_redirects=False)
    assert (answer.status_code, answer.json()["error"]) == (404, "TrackingTokenInvalid")
    assert "location" not in answer.headers
    # and the club itself signs no link to anything but http(s)
    ours = Tracker(secret_of(None, PEPPER), "https://club.example")
    for target in ("javascript:alert(1)", "//evil.example/", "ftp://files.example/x", "https://"):
        with pytest.raises(ValueError, match="not a link to track"):
            ours.click_url(message.id, target)
    assert _events(club, "email_clicked") == []
    assert _events(club, "email_opened") == []


def test_bounces_and_unsubscribes_are_recorded(club: Club, client: TestClient) -> None:
    gone = club.member("studs@example.se", "email")
    reader = club.member("avslutar@example.se", "email")
    club.run()
    # both of the member's mails bounced (the club's welcome and the news): one event each
    mails = club.messages(gone)
    assert [m.status for m in mails] == ["failed", "failed"]
    bounced = _events(club, "email_bounced")
    assert [(e.member_id, e.properties["message_id"]) for e in bounced] == [
        (gone, m.id) for m in mails
    ]
    with club.session() as session:
        figures = queries.figures(session, queries.get(session, "nyheter"), now=club.clock.now())
    assert (figures.sent, figures.failed, figures.delivered) == (1, 1, 1)
    (mail,) = [m for m in club.mails("avslutar@example.se") if m["Subject"] == "Nytt i butiken"]
    (link,) = re.findall(
        r"https://club\.example/unsubscribe/[\w\-=]+(?:\.[\w\-=]+)*", _parts(mail)[0]
    )
    assert client.post(_path(link)).status_code == 200
    (left,) = _events(club, "email_unsubscribed")
    assert (left.member_id, left.properties) == (reader, {"channel": "email"})
