"""Referral use cases: codes, linking a referee to an advocate (with the guards), a member's
referral page, the list and the report. What happens after linking — qualifying, rewarding,
voiding — is in ``lojal.referrals.rewards``.

Linking happens at enrolment (``MemberCreate.referral_code``, through
``lojal.reactions.after_enrolment``) or later by a claim (``claim``: "a friend referred me"),
at most once per member. An unknown code is refused with ``UnknownReferralCode`` (the
enrolment with it fails, so the member can correct it). A known code is always recorded; the
referral starts ``pending``, or ``refused`` with the first reason that applies:

* ``self_referral``     the code is the member's own (also after a merge);
* ``advocate_closed``   the code's member has left the club;
* ``already_member``    the referee enrolled before the advocate, or more than ``claim_days``
                        before the referral (a code cannot bring in an existing member);
* ``existing_customer`` the referee has bought before (as a member, or for their email,
                        phone or card before they enrolled);
* ``shared_email`` / ``shared_phone`` / ``shared_card`` / ``shared_address``
                        the two share a way to be reached (``lojal.referrals.guards``).

A refused referral does not undo the enrolment: the new member is a member; only the
referral is refused, and the report shows why.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from lojal.errors import ProgramNotConfigured
from lojal.members import service as members
from lojal.members.models import Member
from lojal.program import service as program_service
from lojal.program.schemas import ProgramConfig
from lojal.referrals import codes, guards, queries
from lojal.referrals.errors import AlreadyReferred, ReferralsNotConfigured, UnknownReferralCode
from lojal.referrals.models import Referral, ReferralCode
from lojal.referrals.schemas import (
    AdvocateReport,
    MemberReferralRead,
    ReferralConfig,
    ReferralPage,
    ReferralRead,
    ReferralReport,
)


def configured(session: Session) -> tuple[ProgramConfig, ReferralConfig] | None:
    """The programme and its referral settings, or None when the club has no referrals."""
    try:
        program = program_service.current(session)
    except ProgramNotConfigured:
        return None
    if program.referrals is None:
        return None
    return program, program.referrals


def require(session: Session) -> tuple[ProgramConfig, ReferralConfig]:
    setup = configured(session)
    if setup is None:
        raise ReferralsNotConfigured(
            "this club has no referral programme: add a `referrals` section to the programme"
        )
    return setup


# ------------------------------------------------------------------ codes


def ensure_codes(session: Session, *, member_ids: list[int], now: datetime) -> dict[int, str]:
    """Each member's code, issuing codes to those without one (members who enrolled before
    the club had referrals). Set-based: a few queries however many members."""
    found = queries.codes_of(session, member_ids)
    missing = [m for m in dict.fromkeys(member_ids) if m not in found]
    while missing:
        fresh = {m: codes.new_code() for m in missing}
        taken = queries.codes_taken(session, fresh.values())
        seen: set[str] = set()
        for member_id, code in fresh.items():
            if code in taken or code in seen:
                continue  # drawn again next round
            seen.add(code)
            session.add(ReferralCode(member_id=member_id, code=code, created_at=now))
            found[member_id] = code
        missing = [m for m in missing if m not in found]
    session.flush()
    return found


# ------------------------------------------------------------------ linking


def on_enrolment(
    session: Session, *, member: Member, referral_code: str | None, now: datetime
) -> Referral | None:
    """A new member: their own code and, if they came with a friend's code, the referral.
    Nothing at all when the club has no referrals (a code given then is ignored)."""
    setup = configured(session)
    if setup is None:
        return None
    ensure_codes(session, member_ids=[member.id], now=now)
    if not referral_code:
        return None
    return _link(
        session,
        referee=member,
        raw_code=referral_code,
        source="enrolment",
        referred_at=member.enrolled_at,
        now=now,
        settings=setup[1],
    )


def claim(
    session: Session, *, member_id: int, referral_code: str, now: datetime
) -> tuple[Referral, bool]:
    """A member says a friend referred them (they did not give the code at enrolment). The
    same code again answers with the referral made the first time (``created`` False)."""
    _, settings = require(session)
    member = members.get_active(session, member_id)
    existing = queries.referral_of_referee(session, member.id)
    if existing is not None:
        if existing.code == codes.normalise_code(referral_code):
            return existing, False
        raise AlreadyReferred(
            f"member {member.id} was already referred (referral {existing.id})",
            field="referral_code",
        )
    referral = _link(
        session,
        referee=member,
        raw_code=referral_code,
        source="claim",
        referred_at=now,
        now=now,
        settings=settings,
    )
    return referral, True


def _link(
    session: Session,
    *,
    referee: Member,
    raw_code: str,
    source: str,
    referred_at: datetime,
    now: datetime,
    settings: ReferralConfig,
) -> Referral:
    code = codes.normalise_code(raw_code)
    owner = queries.member_id_by_code(session, code) if code else None
    if code is None or owner is None:
        raise UnknownReferralCode(
            f"referral_code: {raw_code!r} is not a referral code of this club",
            field="referral_code",
        )
    advocate = members.resolve(session, members.get(session, owner))
    referral = Referral(
        advocate_id=advocate.id,
        referee_id=referee.id,
        code=code,
        source=source,
        status="pending",
        reason=refusal(session, advocate=advocate, referee=referee, now=now, settings=settings),
        referred_at=referred_at,
        advocate_points=0,
        referee_points=0,
        updated_at=now,
    )
    if referral.reason is not None:
        referral.status = "refused"
    session.add(referral)
    session.flush()
    return referral


def refusal(
    session: Session, *, advocate: Member, referee: Member, now: datetime, settings: ReferralConfig
) -> str | None:
    """Why ``referee`` cannot be ``advocate``'s referral, or None (see the module docstring)."""
    if advocate.id == referee.id:
        return "self_referral"
    if advocate.status != "active":
        return "advocate_closed"
    if referee.enrolled_at < advocate.enrolled_at or now - referee.enrolled_at > timedelta(
        days=settings.claim_days
    ):
        return "already_member"
    identities = [(i.kind, i.value) for i in referee.identities]
    if queries.has_purchased(session, referee.id, identities):
        return "existing_customer"
    return guards.shared(queries.fingerprint(advocate), queries.fingerprint(referee))


# ------------------------------------------------------------------ reading


def member_referral(session: Session, *, member_id: int, now: datetime) -> MemberReferralRead:
    """A member's code (issued now if they have none yet), link and referrals."""
    _, settings = require(session)
    member = members.get_active(session, member_id)
    code = ensure_codes(session, member_ids=[member.id], now=now)[member.id]
    counts, earned, pending = queries.counts_for(session, member.id)
    referred = queries.referral_of_referee(session, member.id)
    return MemberReferralRead(
        member_id=member.id,
        code=code,
        link=codes.link(settings.link_base_url, code),
        counts=counts,
        points_earned=earned,
        points_pending=pending,
        referred_by=to_read(referred) if referred is not None else None,
    )


def to_read(referral: Referral) -> ReferralRead:
    return ReferralRead.model_validate(
        {
            name: getattr(referral, name)
            for name in ReferralRead.model_fields
            if hasattr(referral, name)
        }
    )


def list_referrals(
    session: Session,
    *,
    advocate_id: int | None = None,
    referee_id: int | None = None,
    status: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> ReferralPage:
    rows = queries.page(
        session,
        advocate_id=advocate_id,
        referee_id=referee_id,
        status=status,
        before=before,
        limit=limit,
    )
    return ReferralPage(
        referrals=[to_read(r) for r in rows],
        next_before=rows[-1].id if len(rows) == limit else None,
    )


def report(
    session: Session,
    *,
    advocate_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> ReferralReport:
    """Per advocate (most referrals first) and in total: referrals by status, refusals by
    reason, points given and pending, and what the referees spent. ``since``/``until`` are
    days in the club's time zone (``until`` inclusive) and select referrals by when they were
    made."""
    program = program_service.current(session)
    zone = ZoneInfo(program.timezone)
    start = _midnight(since, zone)
    end = _midnight(until + timedelta(days=1), zone) if until is not None else None
    where: list[ColumnElement[bool]] = []
    if start is not None:
        where.append(Referral.referred_at >= start)
    if end is not None:
        where.append(Referral.referred_at < end)
    if advocate_id is not None:
        where.append(Referral.advocate_id == advocate_id)
    ids = queries.top_advocates(session, where, limit=limit, offset=offset)
    per_advocate = (
        queries.figures(session, [*where, Referral.advocate_id.in_(ids)], by_advocate=True)
        if ids
        else {}
    )
    totals = queries.figures(session, where, by_advocate=False).get(None)
    return ReferralReport(
        currency=program.currency,
        since=start,
        until=end,
        advocates=[
            AdvocateReport.model_validate({"advocate_id": i, **per_advocate[i].model_dump()})
            for i in ids
            if i in per_advocate
        ],
        totals=totals or queries.empty_figures(),
    )


def _midnight(day: date | None, zone: ZoneInfo) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
