"""Standard Webhooks signatures: the specification's test vector, the reference library's
verification, and rotation (several signatures)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from lojal.webhooks import signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specifications_test_vector() -> None:
    assert signing.sign(SECRET, MSG_ID, TIMESTAMP, BODY) == EXPECTED
    at = datetime.fromtimestamp(TIMESTAMP, UTC)
    assert Webhook(SECRET).sign(MSG_ID, at, BODY.decode()) == EXPECTED


def test_the_reference_library_verifies_what_is_signed_with_any_of_the_secrets() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    now = int(datetime.now(UTC).timestamp())
    headers = signing.headers([new, old], "msg_1", now, BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, headers) == {"test": 2432232314}
    assert Webhook(new).verify(BODY, headers) == {"test": 2432232314}
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(BODY + b" ", headers)


def test_message_ids_are_stable_per_event() -> None:
    assert signing.message_id("points.earned:purchase:1") == signing.message_id(
        "points.earned:purchase:1"
    )
    assert signing.message_id("a").startswith("msg_")
    assert signing.message_id("a") != signing.message_id("b")


def test_a_secret_must_be_a_whsec_key() -> None:
    with pytest.raises(ValueError, match="base64"):
        signing.key_of("whsec_not base64!")
    with pytest.raises(ValueError, match="16 bytes"):
        signing.key_of("whsec_YWJj")
