"""Engagement tracking: signed links that tell lojal a marketing email was opened or one of
its links clicked (``LOJAL_MESSAGING__TRACK_ENGAGEMENT``; off by default — an open pixel is
tracking, which the club may need its members' consent for).

* **Opens.** The HTML part of the email ends with a 1×1 image,
  ``<public_url>/track/open/<token>``; a mail client that loads it reports the open.
* **Clicks.** Every ``http(s)://`` link of the message's text is rewritten to
  ``<public_url>/track/click/<token>``, which records the click and answers ``302`` to the
  link as it was written.

A token is an ``itsdangerous`` signature (HMAC-SHA1 over a key derived from the secret with
its own salt per kind) of the message id — and, for a click, of the link itself. Nothing else
is stored, so nobody can make a token for another message, nor point one at another place:
a token whose signature does not hold is refused (``TrackingTokenInvalid``, a 404), and a
target that is not an ``http`` or ``https`` URL is refused when the link is made and again
when it is followed, so the redirect cannot be turned into an open one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer

from lojal.errors import NotFound

OPEN_SALT = "lojal.email-opened"
CLICK_SALT = "lojal.email-clicked"
# the URLs of a message's text: http(s) up to white space or a closing bracket or quote
LINK = re.compile(r"https?://[^\s<>\"'()\[\]]+", re.IGNORECASE)
# trailing punctuation ends a sentence, not the link ("Läs mer på https://x.se/a.")
_TRAILING = ".,;:!?"
MAX_URL = 2000


class TrackingTokenInvalid(NotFound):
    """A tracking link that lojal did not make (or that was altered)."""


def secret_of(tracking_secret: str | None, pepper: str) -> bytes:
    if tracking_secret:
        return tracking_secret.encode()
    return hmac.new(pepper.encode(), b"lojal tracking", hashlib.sha256).digest()


def trackable(url: str) -> bool:
    """Whether a link may be tracked and redirected to: an absolute http or https URL with a
    host, of at most 2,000 characters, without control characters."""
    if len(url) > MAX_URL or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


@dataclass(frozen=True)
class Tracker:
    """Makes and reads the tracking tokens of one club (``secret``), and the URLs under
    ``public_url``."""

    secret: bytes
    public_url: str

    def _opens(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret, salt=OPEN_SALT)

    def _clicks(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret, salt=CLICK_SALT)

    def open_url(self, message_id: int) -> str:
        token = self._opens().dumps(message_id)
        return f"{self.public_url.rstrip('/')}/track/open/{token}"

    def click_url(self, message_id: int, url: str) -> str:
        if not trackable(url):
            raise ValueError(f"not a link to track: {url!r}")
        token = self._clicks().dumps([message_id, url])
        return f"{self.public_url.rstrip('/')}/track/click/{token}"

    def read_open(self, token: str) -> int:
        """The message an open token names."""
        try:
            value = self._opens().loads(token)
        except BadSignature:
            value = None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise TrackingTokenInvalid("there is no such tracking link", field="token")
        return value

    def read_click(self, token: str) -> tuple[int, str]:
        """The message and the link a click token names (the link checked again)."""
        try:
            value = self._clicks().loads(token)
        except BadSignature:
            value = None
        if (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], int)
            and not isinstance(value[0], bool)
            and value[0] >= 1
            and isinstance(value[1], str)
            and trackable(value[1])
        ):
            return value[0], value[1]
        raise TrackingTokenInvalid("there is no such tracking link", field="token")

    def rewrite(self, message_id: int, text: str) -> str:
        """The text with each trackable link replaced by its tracking link."""
        return rewrite_links(text, lambda url: self.click_url(message_id, url))


def rewrite_links(text: str, replace: Callable[[str], str]) -> str:
    """Each http(s) link of the text passed through ``replace`` (a sentence's full stop
    after a link stays outside it; an untrackable link is left as it is)."""

    def one(found: re.Match[str]) -> str:
        link = found.group(0)
        kept = link.rstrip(_TRAILING)
        tail = link[len(kept) :]
        return (replace(kept) if trackable(kept) else kept) + tail

    return LINK.sub(one, text)
