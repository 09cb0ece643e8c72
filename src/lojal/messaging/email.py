"""Email: composing a message with its unsubscribe headers, DKIM-signing it, and sending it
over SMTP on kept connections.

A marketing message carries ``List-Unsubscribe: <https://…/unsubscribe/TOKEN>,
<mailto:…?subject=unsubscribe%20TOKEN>`` and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click`` (RFC 8058: a mail client POSTs to the https link, and the
consent is withdrawn within that request). The DKIM signature (``dkimpy``, RFC 6376,
rsa-sha256, relaxed/simple) covers From, To, Subject, Date, Message-ID, the MIME headers and
both unsubscribe headers, as Gmail, Yahoo and Microsoft require of bulk senders.

With a ``Tracker`` (``lojal.messaging.tracking``: tracked marketing email) the text's links
are rewritten to tracking links, and the message is ``multipart/alternative``: the text, and
the same text as HTML (escaped, its links made links) ending with the 1×1 open pixel.
"""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
import threading
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape
from urllib.parse import quote

import dkim

from lojal.messaging.settings import MessagingSettings
from lojal.messaging.tracking import LINK, Tracker

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)

# CRLF line ends; long headers kept whole (up to RFC 5322's 998), never turned into encoded
# words, so that List-Unsubscribe stays a list of URLs
POLICY = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True, slots=True)
class Outgoing:
    sender: str
    to: str
    data: bytes


def compose(
    settings: MessagingSettings,
    *,
    to: str,
    subject: str,
    body: str,
    now: datetime,
    message_id: int,
    unsubscribe_token: str | None,
    tracker: Tracker | None = None,
    message_key: str = "",
) -> Outgoing:
    """The message as it goes on the wire, signed when DKIM is configured. Its Message-ID is
    the same on every try (from the message's id and natural key): a worker that dies
    between a send and its commit sends the email again, and the receiving side can tell
    it is the one it has."""
    message = EmailMessage(policy=POLICY)
    message["From"] = settings.email_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    domain = settings.dkim_domain or settings.email_from.rsplit("@", 1)[-1].rstrip(">")
    message["Message-ID"] = message_id_of(message_id, message_key, domain)
    if tracker is not None:
        body = tracker.rewrite(message_id, body)
    if unsubscribe_token is not None:
        url = f"{settings.public_url.rstrip('/')}/unsubscribe/{unsubscribe_token}"
        subject_line = quote(f"unsubscribe {unsubscribe_token}")
        mailto = f"mailto:{settings.unsubscribe_mailto}?subject={subject_line}"
        message["List-Unsubscribe"] = f"<{url}>, <{mailto}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        body = f"{body}\n\n--\nUnsubscribe: {url}\n"
    message.set_content(body)
    if tracker is not None:
        message.add_alternative(_html(body, tracker.open_url(message_id)), subtype="html")
    data = message.as_bytes()
    if settings.dkim_domain and settings.dkim_selector and settings.dkim_private_key:
        signature = dkim.sign(
            data,
            settings.dkim_selector.encode(),
            settings.dkim_domain.encode(),
            settings.dkim_private_key.encode(),
            include_headers=[h for h in SIGNED_HEADERS if h.decode() in _present(message)],
        )
        data = signature + data
    return Outgoing(_address(settings.email_from), to, data)


def message_id_of(message_id: int, message_key: str, domain: str) -> str:
    """``<m{id}.{digest of id and key}@domain>``: the same on every try of the message."""
    digest = hashlib.sha256(f"{message_id}:{message_key}".encode()).hexdigest()[:20]
    return f"<m{message_id}.{digest}@{domain}>"


def _html(text: str, pixel: str) -> str:
    """The text as HTML: escaped, line breaks kept, links made links; then the open pixel."""
    parts: list[str] = []
    at = 0
    for found in LINK.finditer(text):
        link = found.group(0).rstrip(".,;:!?")
        parts.append(escape(text[at : found.start()]))
        parts.append(f'<a href="{escape(link)}">{escape(link)}</a>')
        at = found.start() + len(link)
    parts.append(escape(text[at:]))
    html = "".join(parts).replace("\n", "<br>\n")
    return (
        "<!doctype html><html><body>"
        f"{html}"
        f'<img src="{escape(pixel)}" width="1" height="1" alt="" style="display:block">'
        "</body></html>\n"
    )


def _present(message: EmailMessage) -> set[str]:
    return {k.lower() for k in message}


def _address(value: str) -> str:
    return value.rsplit("<", 1)[-1].rstrip(">").strip()


class SmtpThrottled(Exception):
    """The relay asked us to slow down (421, 450-452)."""


class SmtpRefused(Exception):
    """The relay refused the message for good (5xx)."""


class SmtpSender:
    """SMTP connections kept open, one per sending thread; a dropped one is opened again."""

    def __init__(self, settings: MessagingSettings, *, timeout: float = 30.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self.local = threading.local()
        self.lock = threading.Lock()
        self.every: list[smtplib.SMTP] = []

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.smtp_ssl:
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=self.timeout)
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout)
            if s.smtp_starttls:
                smtp.starttls()
        if s.smtp_username:
            smtp.login(s.smtp_username, s.smtp_password or "")
        with self.lock:
            self.every.append(smtp)
        return smtp

    def send(self, outgoing: Outgoing) -> None:
        for fresh in (False, True):
            smtp: smtplib.SMTP | None = getattr(self.local, "smtp", None)
            reused = smtp is not None
            if smtp is None:
                smtp = self.local.smtp = self._connect()
            try:
                smtp.sendmail(outgoing.sender, [outgoing.to], outgoing.data)
                return
            except smtplib.SMTPRecipientsRefused as exc:
                code, reason = next(iter(exc.recipients.values()))
                self._classify(code, reason)
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code == 421:
                    self._drop()
                self._classify(exc.smtp_code, exc.smtp_error)
            except (smtplib.SMTPServerDisconnected, OSError):
                self._drop()
                if fresh or not reused:
                    raise
        raise AssertionError("unreachable")

    def _classify(self, code: int, reason: bytes | str) -> None:
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else reason
        if code in (421, 450, 451, 452):
            raise SmtpThrottled(f"SMTP {code} {text}")
        if code >= 500:
            raise SmtpRefused(f"SMTP {code} {text}")
        raise OSError(f"SMTP {code} {text}")

    def _drop(self) -> None:
        smtp = getattr(self.local, "smtp", None)
        self.local.smtp = None
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()

    def close(self) -> None:
        with self.lock:
            for smtp in self.every:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
            self.every.clear()
