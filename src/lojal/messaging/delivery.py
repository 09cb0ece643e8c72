"""Sending messages (the worker's ``message`` jobs).

For a batch of jobs: one read of the messages, their members' addresses and current consents,
and the channels' pauses; then each message is sent side by side (``concurrency``):

* consent is checked now, at send time: a marketing message needs the member's current
  consent on its channel; a transactional one does not. No consent, or no address, is
  ``suppressed`` (accounted for, not sent);
* a channel that its provider slowed down (a 429, or a 4xx with ``Retry-After``; SMTP 421 or
  45x) is paused until the provider's ``Retry-After`` (else a minute) — in this worker at
  once, for every worker through ``channel_pauses`` — and its messages wait, deferred, the try
  given back;
* a permanent refusal (a 4xx, SMTP 5xx) is ``failed``; anything else is tried again with
  back-off, and ``failed`` after the last try.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from lojal.db.session import transaction
from lojal.members.models import Consent, Member, MemberIdentity
from lojal.messaging import email, engagement, tracking, unsubscribe
from lojal.messaging.models import ChannelPause, Message
from lojal.messaging.providers import (
    HttpProvider,
    ProviderRefused,
    ProviderThrottled,
)
from lojal.messaging.service import KIND
from lojal.worker.http import HttpClient
from lojal.worker.kinds import (
    Context,
    Defer,
    Done,
    Fail,
    IoHandler,
    Outcome,
    Retry,
    side_by_side,
)
from lojal.worker.queue import Claimed

DEFAULT_PAUSE = timedelta(minutes=1)


class Throttled(Exception):
    def __init__(self, reason: str, after: timedelta | None) -> None:
        super().__init__(reason)
        self.after = after


class Refused(Exception):
    pass


class Bounced(Refused):
    """The mail server refused the email for good (SMTP 5xx): recorded as ``email_bounced``."""


class MessageHandler(IoHandler):
    kind = KIND
    max_attempts = 8

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.settings = ctx.settings.messaging
        self.secret = unsubscribe.secret_of(
            self.settings.unsubscribe_secret, ctx.settings.api_key_pepper
        )
        self.tracker = (
            tracking.Tracker(
                tracking.secret_of(self.settings.tracking_secret, ctx.settings.api_key_pepper),
                self.settings.public_url,
            )
            if self.settings.track_engagement
            else None
        )
        self.smtp = email.SmtpSender(self.settings)
        self.http = HttpClient()
        self.width = self.settings.concurrency
        self.pool = ThreadPoolExecutor(self.width, "lojal-messages")
        self.lock = threading.Lock()
        self.paused: dict[str, tuple[datetime, str]] = {}
        # what each job came to, for ``record`` (status, error), by job id
        self.status: dict[int, tuple[str, str | None]] = {}
        # the jobs whose email the mail server refused for good (a bounce)
        self.bounced: set[int] = set()

    # ------------------------------------------------------------------ sending

    def handle(self, jobs: Sequence[Claimed], now: datetime) -> list[Outcome]:
        ids = [job.payload["message"] for job in jobs]
        with transaction(self.ctx.factory, read_only=True) as session:
            messages = {
                m.id: m for m in session.scalars(select(Message).where(Message.id.in_(ids)))
            }
            member_ids = {m.member_id for m in messages.values()}
            addresses = _addresses(session, member_ids)
            consents = _consents(session, member_ids)
            for pause in session.scalars(select(ChannelPause)):
                if pause.until > now:
                    self._pause(pause.channel, pause.until, pause.reason)

        def one(job: Claimed) -> Outcome:
            message = messages.get(job.payload["message"])
            if message is None:
                return Fail(f"message {job.payload['message']} is gone")
            if message.status != "queued":
                return Done(f"already {message.status}")
            if message.purpose == "marketing" and not consents.get(
                (message.member_id, message.channel), False
            ):
                self.status[job.id] = ("suppressed", f"no {message.channel} consent")
                return Done(f"suppressed: no {message.channel} consent")
            with self.lock:
                paused = self.paused.get(message.channel)
            if paused is not None and paused[0] > self.ctx.clock.now():
                return Defer(paused[0], f"{message.channel} slowed down: {paused[1]}")
            try:
                self._send(message, addresses.get(message.member_id, {}), now)
            except Bounced as exc:
                self.status[job.id] = ("failed", str(exc))
                with self.lock:
                    self.bounced.add(job.id)
                return Fail(str(exc))
            except NoAddress as exc:
                self.status[job.id] = ("suppressed", str(exc))
                return Done(f"suppressed: {exc}")
            except Throttled as exc:
                until = self.ctx.clock.now() + (exc.after or DEFAULT_PAUSE)
                self._pause(message.channel, until, str(exc))
                return Defer(until, f"{message.channel} slowed down: {exc}")
            except Refused as exc:
                self.status[job.id] = ("failed", str(exc))
                return Fail(str(exc))
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                if job.attempts >= (job.max_attempts or self.max_attempts):
                    self.status[job.id] = ("failed", reason)
                return Retry(reason)
            self.status[job.id] = ("sent", None)
            return Done()

        return side_by_side(self.pool, self.width, one, jobs)

    def _pause(self, channel: str, until: datetime, reason: str) -> None:
        with self.lock:
            current = self.paused.get(channel)
            if current is None or current[0] < until:
                self.paused[channel] = (until, reason)

    def _send(self, message: Message, address: dict[str, str], now: datetime) -> None:
        if message.channel == "email":
            to = address.get("email")
            if to is None:
                raise NoAddress("no email address")
            token = (
                unsubscribe.token(self.secret, message.member_id, "email")
                if message.purpose == "marketing"
                else None
            )
            outgoing = email.compose(
                self.settings,
                to=to,
                subject=message.subject or "",
                body=message.body,
                now=now,
                message_id=message.id,
                message_key=message.key,
                unsubscribe_token=token,
                tracker=self.tracker if message.purpose == "marketing" else None,
            )
            try:
                self.smtp.send(outgoing)
            except email.SmtpThrottled as exc:
                raise Throttled(str(exc), None) from exc
            except email.SmtpRefused as exc:
                raise Bounced(str(exc)) from exc
            return
        payload: dict[str, Any]
        if message.channel == "sms":
            to = address.get("phone")
            if to is None:
                raise NoAddress("no phone number")
            url, auth = self.settings.sms_url, self.settings.sms_authorization
            payload = {"to": to, "text": message.body}
        else:
            url, auth = self.settings.push_url, self.settings.push_authorization
            payload = {
                "member_id": message.member_id,
                "title": message.subject,
                "body": message.body,
                "data": message.data,
            }
        if not url:
            raise Refused(f"no {message.channel} provider is configured")
        payload["reference"] = f"lojal-{message.id}"
        try:
            HttpProvider(url, auth, self.http).send(payload)
        except ProviderThrottled as exc:
            raise Throttled(str(exc), exc.after) from exc
        except ProviderRefused as exc:
            raise Refused(str(exc)) from exc

    # ------------------------------------------------------------------ recording

    def record(
        self, session: Session, results: Sequence[tuple[Claimed, Outcome]], now: datetime
    ) -> None:
        # one UPDATE for the batch's outcomes (a message still queued takes its status), and
        # a bounce's engagement event for each refused email
        rows: list[dict[str, Any]] = []
        bounces: list[int] = []
        for job, _ in results:
            found = self.status.pop(job.id, None)
            with self.lock:
                bounced = job.id in self.bounced
                self.bounced.discard(job.id)
            if found is None:
                continue
            message_id = job.payload["message"]
            rows.append(
                {
                    "b_id": message_id,
                    "b_status": found[0],
                    "b_error": found[1][:500] if found[1] else None,
                    "b_sent_at": now if found[0] == "sent" else None,
                }
            )
            if bounced:
                bounces.append(message_id)
        if bounces:  # only those still queued: a bounce recorded before is not again
            bounces = list(
                session.scalars(
                    select(Message.id).where(Message.id.in_(bounces), Message.status == "queued")
                )
            )
        if rows:
            session.connection().execute(
                update(Message)
                .where(Message.id == bindparam("b_id"), Message.status == "queued")
                .values(
                    status=bindparam("b_status"),
                    error=bindparam("b_error"),
                    sent_at=bindparam("b_sent_at", type_=Message.sent_at.type),
                )
                .execution_options(synchronize_session=False),
                rows,
            )
        for message_id in bounces:
            engagement.message_event(
                session, message_id=message_id, type_=engagement.BOUNCED, now=now
            )
        with self.lock:
            paused = dict(self.paused)
        for channel, (until, reason) in paused.items():
            if until <= now:
                continue
            pause = session.get(ChannelPause, channel)
            if pause is None:
                session.add(
                    ChannelPause(channel=channel, until=until, reason=reason[:500], pauses=1)
                )
            elif pause.until < until:
                pause.until, pause.reason, pause.pauses = until, reason[:500], pause.pauses + 1
        session.flush()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.smtp.close()
        self.http.close()


class NoAddress(Exception):
    pass


def _addresses(session: Session, member_ids: set[int]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    rows = session.execute(
        select(MemberIdentity.member_id, MemberIdentity.kind, MemberIdentity.value).where(
            MemberIdentity.member_id.in_(member_ids),
            MemberIdentity.kind.in_(("email", "phone")),
        )
    )
    for member_id, kind, value in rows:
        found.setdefault(member_id, {})[kind] = value
    closed = session.scalars(
        select(Member.id).where(Member.id.in_(member_ids), Member.status != "active")
    )
    for member_id in closed:  # closed and merged members get nothing
        found.pop(member_id, None)
    return found


def _consents(session: Session, member_ids: set[int]) -> dict[tuple[int, str], bool]:
    current: dict[tuple[int, str], bool] = {}
    rows = session.execute(
        select(Consent.member_id, Consent.channel, Consent.granted)
        .where(Consent.member_id.in_(member_ids))
        .order_by(Consent.id)
    )
    for member_id, channel, granted in rows:
        current[(member_id, channel)] = granted  # the latest row wins
    return current
