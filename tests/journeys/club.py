"""A demo club with the ready-made journeys on, a frozen clock, the worker (every kind of
job) and a real SMTP server and HTTP provider to deliver to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.config import Settings
from lojal.db.session import make_session_factory, transaction
from lojal.demo.generator import CLUB_FILE
from lojal.demo.journeys import apply_ready_made, ready_made
from lojal.enrolment import enrol
from lojal.journeys import service as journeys
from lojal.journeys.definition import JourneyDefinition
from lojal.journeys.models import Journey, JourneyRun
from lojal.journeys.tasks import Sweeps, sweep_dates
from lojal.members.schemas import ConsentGrant, MemberCreate
from lojal.messaging.models import Message
from lojal.messaging.settings import MessagingSettings
from lojal.program import service as program_service
from lojal.worker import registry
from lojal.worker.kinds import Context
from lojal.worker.runner import Worker
from lojal.worker.schedule import DEFAULT, Schedule
from tests.conftest import PEPPER
from tests.journeys.crowd import add_members
from tests.smtp import Sink
from tests.webhooks.receiver import Receiver

ZONE = ZoneInfo("Europe/Stockholm")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Stockholm


def local(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A wall-clock time in the club's zone, as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).astimezone(UTC)


class Club:
    def __init__(
        self,
        engine: Engine,
        smtp: tuple[Sink, int],
        provider: Receiver,
        start: datetime,
        *,
        track: bool = False,
    ) -> None:
        self.factory: sessionmaker[Session] = make_session_factory(engine)
        self.sink, port = smtp
        self.provider = provider
        self.clock = FixedClock(start)
        self.settings = Settings(
            database_url=str(engine.url),
            api_key_pepper=PEPPER,
            environment="test",
            messaging=MessagingSettings(
                public_url="https://club.example",
                email_from="Kafferosteriet <klubb@club.example>",
                unsubscribe_mailto="unsubscribe@club.example",
                smtp_port=port,
                sms_url=provider.url + "/sms",
                push_url=provider.url + "/push",
                concurrency=2,
                track_engagement=track,
            ),
        )
        ctx = Context(self.factory, self.clock, self.settings)
        # the worker's schedule, with only the journeys' date sweep
        self.schedule = Schedule([e for e in DEFAULT if e.name == "journey-dates"])
        self.worker = Worker(
            self.factory, self.clock, registry.handlers(ctx, self.schedule), schedule=None
        )
        with transaction(self.factory) as session:
            text = CLUB_FILE.read_text(encoding="utf-8")
            config = program_service.parse(text)
            program_service.apply(session, config=config, source=text, now=start)
            apply_ready_made(session, now=start)

    def close(self) -> None:
        self.worker.close()

    # ------------------------------------------------------------------ time and work

    def at(self, when: datetime) -> None:
        assert when >= self.clock.now(), "the clock only moves forward"
        self.clock.at = when

    def run(self) -> None:
        """Every job due now, until none is."""
        for _ in range(50):
            if self.worker.turn().claimed == 0:
                return
        raise AssertionError("the worker did not become idle")

    def sweep(self, force: bool = False) -> Sweeps:
        return sweep_dates(self.factory, now=self.clock.now(), force=force)

    # ------------------------------------------------------------------ members

    def member(
        self,
        email: str,
        *consents: str,
        birth_date: date | None = None,
        enrolled_at: datetime | None = None,
        phone: str | None = None,
        first_name: str = "Alva",
    ) -> int:
        with transaction(self.factory) as session:
            member = enrol(
                session,
                data=MemberCreate(
                    email=email,
                    phone=phone,
                    first_name=first_name,
                    birth_date=birth_date,
                    enrolled_at=enrolled_at,
                    channel="web",
                    consents=[ConsentGrant(channel=c, granted=True) for c in consents],
                ),
                now=self.clock.now(),
            )
            return member.id

    def crowd(self, n: int) -> None:
        """``n`` more active members, written straight into the table (no email, no
        purchase, enrolled now): a club big enough for control groups."""
        with transaction(self.factory) as session:
            add_members(session, n, now=self.clock.now())

    def holdout(self, code: str, percent: int) -> int:
        """Save the ready-made journey ``code`` again with a holdout of ``percent`` (checked
        against its audience, as any save is); the holdout it has now."""
        (item,) = [j for j in ready_made()["journeys"] if j["code"] == code]
        definition = JourneyDefinition.model_validate({**item, "holdout_percent": percent})
        with transaction(self.factory) as session:
            return journeys.replace(
                session, definition=definition, now=self.clock.now()
            ).holdout_percent

    @contextmanager
    def session(self) -> Iterator[Session]:
        with transaction(self.factory) as session:
            yield session

    # ------------------------------------------------------------------ what came of it

    def runs(self, journey: str, member_id: int | None = None) -> list[JourneyRun]:
        with transaction(self.factory) as session:
            query = (
                select(JourneyRun)
                .join(Journey, Journey.id == JourneyRun.journey_id)
                .where(Journey.code == journey)
                .order_by(JourneyRun.id)
            )
            if member_id is not None:
                query = query.where(JourneyRun.member_id == member_id)
            return list(session.scalars(query))

    def messages(self, member_id: int) -> list[Message]:
        with transaction(self.factory) as session:
            return list(
                session.scalars(
                    select(Message).where(Message.member_id == member_id).order_by(Message.id)
                )
            )

    def mails(self, to: str) -> list[EmailMessage]:
        """What the SMTP server was sent for ``to``, parsed."""
        out = []
        for _, rcpt, data in self.sink.messages:
            if to in rcpt:
                parsed = message_from_bytes(data, policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                out.append(parsed)
        return out

    def subjects(self, to: str) -> list[str]:
        return [str(m["Subject"]) for m in self.mails(to)]

    def texts(self) -> list[dict[str, Any]]:
        """The SMS the provider was sent."""
        return [orjson.loads(r.body) for r in self.provider.received if r.path == "/sms"]

    def pushes(self) -> list[dict[str, Any]]:
        return [orjson.loads(r.body) for r in self.provider.received if r.path == "/push"]


DAY = timedelta(days=1)
