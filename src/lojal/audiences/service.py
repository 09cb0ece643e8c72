"""A saved segment as an advertising audience: who of its members may be in it, what each
platform is sent of them (``audiences.formats``), and who was left out and why.

Only members whose current ``ads`` consent is granted are exported (``members.models``: the
consent purpose for being matched in the club's advertising audiences; an e-mail or SMS
marketing consent does not cover it, and no answer is no consent). A member is left out for the
first of these that applies: the membership is closed (or merged into another), there is no
``ads`` consent, there is no e-mail address or phone number to match on.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from lojal.audiences.errors import InvalidAudienceName
from lojal.audiences.formats import (
    MAX_NAME_LENGTH,
    META_COLUMNS,
    LeftOut,
    Person,
    default_name,
    google_member,
    meta_row,
    name_problem,
)
from lojal.calendar import local_day
from lojal.members.models import Consent, Member
from lojal.program.schemas import ProgramConfig
from lojal.segments import queries as segments

Format = Literal["meta", "google"]
CONSENT = "ads"
CHUNK = 5000
# What the file holds per line / member, written this many at a time.
WRITE_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Audience:
    segment_id: int
    segment_code: str
    name: str
    people: list[Person]
    left_out: LeftOut


def check_name(name: str) -> str:
    """The name, trimmed, or ``InvalidAudienceName`` naming the word that would get the
    audience refused."""
    value = " ".join(name.split())
    if not value:
        raise InvalidAudienceName("name: give a name, or leave it out", field="name")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidAudienceName(f"name: at most {MAX_NAME_LENGTH} characters", field="name")
    problem = name_problem(value)
    if problem is not None:
        raise InvalidAudienceName(
            f"name: {problem.word!r} suggests {problem.category}; advertising platforms "
            "refuse audiences named so (leave the name out for a neutral one)",
            field="name",
        )
    return value


def build(
    session: Session,
    *,
    segment: int | str,
    config: ProgramConfig,
    now: datetime,
    name: str | None = None,
) -> Audience:
    """The segment's members now who may be in an advertising audience, and who may not."""
    found = segments.get(session, segment)
    title = (
        check_name(name)
        if name is not None
        else default_name(found.id, local_day(now, ZoneInfo(config.timezone)))
    )
    ids = segments.current_ids(session, found.id)
    people: list[Person] = []
    closed = no_consent = no_identifier = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(chunk)))}
        consents = _consents(session, chunk)
        for member_id in chunk:
            member = members[member_id]
            if member.status != "active":
                closed += 1
                continue
            if not consents.get(member_id, False):
                no_consent += 1
                continue
            emails = [i.value for i in member.identities if i.kind == "email"]
            phones = [i.value for i in member.identities if i.kind == "phone"]
            if not emails and not phones:
                no_identifier += 1
                continue
            people.append(
                Person(
                    member_id=member_id,
                    emails=emails,
                    phones=phones,
                    first_name=member.first_name,
                    last_name=member.last_name,
                    country=_country(phones, config.phone_region),
                )
            )
    return Audience(
        segment_id=found.id,
        segment_code=found.code,
        name=title,
        people=people,
        left_out=LeftOut(closed=closed, no_consent=no_consent, no_identifier=no_identifier),
    )


def _consents(session: Session, member_ids: Sequence[int]) -> dict[int, bool]:
    """Each member's current ``ads`` consent (the latest row)."""
    current: dict[int, bool] = {}
    rows = session.execute(
        select(Consent.member_id, Consent.granted)
        .where(Consent.member_id.in_(member_ids), Consent.channel == CONSENT)
        .order_by(Consent.id)
    )
    for member_id, granted in rows:
        current[member_id] = bool(granted)
    return current


def _country(phones: Sequence[str], club_region: str) -> str:
    """The region of the member's first phone number, else the club's."""
    for phone in phones:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
        except phonenumbers.NumberParseException:
            continue
        if region and region != "ZZ":
            return str(region)
    return club_region


def meta_csv(audience: Audience) -> Iterator[str]:
    """The Meta customer file: a header ``EMAIL,PHONE,FN,LN,COUNTRY`` and a row of hashes per
    member, in pieces of text to write or stream."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=META_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i, person in enumerate(audience.people, start=1):
        writer.writerow(meta_row(person))
        if i % WRITE_BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def google_json(audience: Audience) -> Iterator[str]:
    """The Data Manager upload: the body of ``audienceMembers:ingest`` without its
    ``destinations`` (the Google Ads operating account and user list, which the uploader names):
    ``{"encoding": "HEX", "audienceMembers": [...]}``. One request takes at most 10,000
    members: an uploader sends the list in pieces of that size."""
    yield '{"encoding": "HEX", "audienceMembers": ['
    for i, person in enumerate(audience.people):
        yield ("" if i == 0 else ",") + json.dumps(google_member(person))
    yield "]}\n"


def left_out_dict(left: LeftOut) -> dict[str, int]:
    return {
        "closed": left.closed,
        "noConsent": left.no_consent,
        "noIdentifier": left.no_identifier,
    }


def render(audience: Audience, format: Format) -> Iterator[str]:
    return meta_csv(audience) if format == "meta" else google_json(audience)
