"""Email to a real SMTP server (aiosmtpd on loopback), DKIM verified with dkimpy over both
unsubscribe headers, one-click unsubscribe withdrawing the consent; SMS and push to a local
HTTP provider with throttling; consent at send time; batches; the inbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import dkim
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.config import Settings
from lojal.db.session import make_session_factory, transaction
from lojal.members import service as members
from lojal.members.queries import current_consents
from lojal.members.schemas import ConsentGrant, MemberCreate
from lojal.messaging import service
from lojal.messaging.delivery import MessageHandler
from lojal.messaging.models import ChannelPause, Message
from lojal.messaging.service import Draft
from lojal.messaging.settings import MessagingSettings
from lojal.worker.kinds import Context
from lojal.worker.runner import Worker
from tests.conftest import PEPPER
from tests.smtp import Sink, smtp_server
from tests.webhooks.receiver import Receiver, receiving

HERE = Path(__file__).parent
KEY = (HERE / "dkim_test_key.pem").read_text()
PUBLIC = (HERE / "dkim_test_key.pub.b64").read_text().strip()
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    with smtp_server() as served:
        yield served


@pytest.fixture
def provider() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


def _settings(database_url: str, port: int, provider: Receiver) -> Settings:
    return Settings(
        database_url=database_url,
        api_key_pepper=PEPPER,
        environment="test",
        messaging=MessagingSettings(
            public_url="https://club.example",
            email_from="Klubben <club@club.example>",
            unsubscribe_mailto="unsubscribe@club.example",
            smtp_port=port,
            dkim_domain="club.example",
            dkim_selector="s1",
            dkim_private_key=KEY,
            sms_url=provider.url + "/sms",
            sms_authorization="Bearer sms-key",
            push_url=provider.url + "/push",
            concurrency=2,
        ),
    )


def _member(session: Session, email: str, *consents: str, phone: str | None = None) -> int:
    member = members.create(
        session,
        data=MemberCreate(
            email=email,
            phone=phone,
            consents=[ConsentGrant(channel=c, granted=True) for c in consents],
        ),
        now=NOW,
    )
    return member.id


def _dns(name: bytes, timeout: int = 5) -> bytes:
    assert name == b"s1._domainkey.club.example."
    return f"v=DKIM1; k=rsa; p={PUBLIC}".encode()


def _worker(factory: sessionmaker[Session], settings: Settings, clock: FixedClock) -> Worker:
    handler = MessageHandler(Context(factory, clock, settings))
    return Worker(factory, clock, {handler.kind: handler})


def _messages(factory: sessionmaker[Session]) -> dict[str, Message]:
    with transaction(factory) as session:
        return {m.key: m for m in session.scalars(select(Message))}


def test_email_is_dkim_signed_over_both_unsubscribe_headers_and_one_click_unsubscribes(
    fresh_engine: Any, smtp: tuple[Sink, int], provider: Receiver
) -> None:
    sink, port = smtp
    factory = make_session_factory(fresh_engine)
    settings = _settings(str(fresh_engine.url), port, provider)
    with transaction(factory) as session:
        anna = _member(session, "anna@example.com", "email")
        bo = _member(session, "bo@example.com")  # no consent
        service.send(
            session,
            [
                Draft(anna, "email", "Hej Anna", "news:anna", subject="Nyheter"),
                Draft(bo, "email", "Hej Bo", "news:bo", subject="Nyheter"),
                Draft(bo, "email", "Ditt kvitto", "receipt:bo", "transactional", "Kvitto"),
            ],
            now=NOW,
            batch="news-1",
        )
    clock = FixedClock(NOW)
    worker = _worker(factory, settings, clock)
    try:
        assert worker.turn().done == 3
    finally:
        worker.close()
    got = {next(iter(rcpt)): data for _, rcpt, data in sink.messages}
    assert set(got) == {"anna@example.com", "bo@example.com"}  # bo: only the receipt
    data = got["anna@example.com"]
    assert dkim.verify(data, dnsfunc=_dns)
    parsed = message_from_bytes(data)
    signature = dkim.util.parse_tag_value(
        parsed["DKIM-Signature"].replace("\r\n", "").replace(" ", "").encode()
    )
    signed = set(signature[b"h"].lower().split(b":"))
    assert {b"list-unsubscribe", b"list-unsubscribe-post", b"from", b"subject"} <= signed
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = (p.strip(" <>\r\n\t") for p in parsed["List-Unsubscribe"].split(","))
    assert https.startswith("https://club.example/unsubscribe/")
    assert mailto.startswith("mailto:unsubscribe@club.example?subject=unsubscribe%20")
    receipt = message_from_bytes(got["bo@example.com"])
    assert receipt["List-Unsubscribe"] is None  # transactional
    status = _messages(factory)
    assert {k: m.status for k, m in status.items()} == {
        "news:anna": "sent",
        "news:bo": "suppressed",
        "receipt:bo": "sent",
    }
    with transaction(factory) as session:
        batch = service.batch_status(session, "news-1")
    assert (batch.complete, batch.sent, batch.suppressed, batch.total) == (True, 2, 1, 3)
    # tampering with the DKIM-covered unsubscribe header breaks the signature
    assert not dkim.verify(
        data.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=No"), dnsfunc=_dns
    )

    # the mail client's one-click POST withdraws the consent within the request
    token = https.rsplit("/", 1)[1]
    from fastapi.testclient import TestClient

    from lojal.app import create_app

    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        forged = client.post(f"/unsubscribe/{token[:-2]}xx", data={"List-Unsubscribe": "One-Click"})
        assert forged.status_code == 422
        answer = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 200
        assert answer.json() == {"member_id": anna, "channel": "email", "unsubscribed": True}
        with transaction(factory) as session:
            consent = current_consents(session, anna)["email"]
            assert (consent.granted, consent.source) == (False, "unsubscribe")
        assert client.get(f"/unsubscribe/{token}").status_code == 200  # a page, no change


def test_sms_and_push_through_the_provider_with_throttling(
    fresh_engine: Any, smtp: tuple[Sink, int], provider: Receiver
) -> None:
    factory = make_session_factory(fresh_engine)
    settings = _settings(str(fresh_engine.url), smtp[1], provider)
    with transaction(factory) as session:
        ids = [
            _member(session, f"m{n}@example.com", "sms", "push", phone=f"+4670123456{n}")
            for n in range(4)
        ]
        service.send(
            session,
            [Draft(i, "sms", f"Kod {i}", f"sms:{i}") for i in ids]
            + [Draft(ids[0], "push", "Ny belöning", "push:0", subject="Belöning")],
            now=NOW,
            batch="b",
        )
    provider.script = [(429, {"Retry-After": "30"})]
    clock = FixedClock(NOW)
    worker = _worker(factory, settings, clock)
    try:
        turn = worker.turn()
        assert turn.deferred >= 1
        with transaction(factory) as session:
            assert not service.batch_status(session, "b").complete
            pause = session.get(ChannelPause, "sms")
            assert pause is not None
            assert pause.until == NOW + timedelta(seconds=30)
        assert worker.turn().claimed == 0  # everything deferred waits for the pause
        clock.advance(timedelta(seconds=30))
        worker.run(until_idle=True)
    finally:
        worker.close()
    with transaction(factory) as session:
        batch = service.batch_status(session, "b")
    assert (batch.complete, batch.sent, batch.total) == (True, 5, 5)
    sms = [r for r in provider.received if r.path == "/sms"]
    assert {orjson.loads(r.body)["to"] for r in sms} == {f"+4670123456{n}" for n in range(4)}
    assert all(r.headers["authorization"] == "Bearer sms-key" for r in sms)
    (push,) = [r for r in provider.received if r.path == "/push"]
    assert orjson.loads(push.body)["member_id"] == ids[0]


def test_the_inbox_over_the_api(api: Any, session: Session) -> None:
    member = _member(session, "inbox@example.com")
    service.send(
        session,
        [Draft(member, "inbox", "Välkommen!", "welcome:1", subject="Hej")],
        now=NOW,
    )
    session.commit()
    got = api.get(f"/members/{member}/inbox", scope="web").json()
    assert got["unread"] == 1
    (item,) = got["items"]
    assert (item["title"], item["read"], item["archived"]) == ("Hej", False, False)
    read = api.patch(f"/members/{member}/inbox/{item['id']}", {"read": True}, scope="web")
    assert read.json()["read"] is True
    assert api.get(f"/members/{member}/inbox", scope="web").json()["unread"] == 0
    api.patch(f"/members/{member}/inbox/{item['id']}", {"archived": True}, scope="web")
    assert api.get(f"/members/{member}/inbox", scope="web").json()["items"] == []
    archive = api.get(f"/members/{member}/inbox?archived=true", scope="web").json()
    assert [i["id"] for i in archive["items"]] == [item["id"]]
