"""An email's Message-ID is the same on every try, so a send repeated after a crash is known
to the receiving side as the same message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes

from lojal.messaging.email import compose
from lojal.messaging.settings import MessagingSettings

SETTINGS = MessagingSettings(email_from="Klubben <club@club.example>")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _message_id(message_id: int, key: str, now: datetime) -> str:
    out = compose(
        SETTINGS,
        to="a@example.se",
        subject="Hej",
        body="Hej!",
        now=now,
        message_id=message_id,
        message_key=key,
        unsubscribe_token=None,
    )
    return str(message_from_bytes(out.data)["Message-ID"])


def test_the_same_message_keeps_its_message_id_across_tries() -> None:
    first = _message_id(7, "journey:1:7", NOW)
    assert first == _message_id(7, "journey:1:7", NOW + timedelta(minutes=5))
    assert first.startswith("<m7.")
    assert first.endswith("@club.example>")


def test_other_messages_have_other_message_ids() -> None:
    assert _message_id(7, "journey:1:7", NOW) != _message_id(8, "journey:1:8", NOW)
    assert _message_id(7, "journey:1:7", NOW) != _message_id(7, "journey:2:7", NOW)
