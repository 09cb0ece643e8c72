"""The member portal under ``/portal``, in the member's language (sv, nb, fi, en): sign-in by
an emailed link, the member card with its QR code, points, tier, history, consent per channel,
the rules in plain words, and the rewards: redeeming one (``rewards.service.redeem``, the API's
path) and the coupons it gave, each as its code and a QR code."""

from __future__ import annotations

import secrets
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from lojal.errors import LojalError
from lojal.fraud.errors import SpendingOnHold, SpendLimitReached
from lojal.i18n import LANGUAGES, Texts, language_of
from lojal.inputs import MAX_ID
from lojal.ledger import queries as ledger_queries
from lojal.ledger.errors import InsufficientPoints
from lojal.members import queries as member_queries
from lojal.members import service as members
from lojal.members.models import CONSENT_CHANNELS
from lojal.members.schemas import ConsentChannel, ConsentGrant
from lojal.pages import portal_access
from lojal.pages.errors import LinkInvalid, RedemptionNotFound
from lojal.pages.portal_texts import portal_texts, rules_in_words
from lojal.pages.security import (
    MEMBER_COOKIE,
    SignedInMember,
    check_csrf,
    check_form_token,
    forget_cookie,
    form_token,
    keep_form_token,
    now_of,
    read_cookie,
    set_cookie,
    settings_of,
)
from lojal.pages.templating import render
from lojal.program import service as program_service
from lojal.rewards import queries as reward_queries
from lojal.rewards import service as rewards
from lojal.rewards.errors import (
    InvalidPointsAmount,
    NotEligible,
    OutOfStock,
    PartnerPoolEmpty,
    RewardLimitReached,
    RewardNotFound,
    RewardUnavailable,
)
from lojal.summary import service as summary_service
from lojal.web.deps import SessionDep

router = APIRouter(prefix="/portal", include_in_schema=False)
HISTORY_SHOWN = 20


def _language(request: Request, chosen: str | None, timezone: str | None = None) -> str:
    if chosen in LANGUAGES:
        return str(chosen)
    header = request.headers.get("accept-language", "")
    return language_of(header.split(",")[0].split(";")[0].strip() or None, club_timezone=timezone)


def _sign_in_page(request: Request, t: Texts, status: int, message: str, sent: bool) -> Response:
    token = form_token(request)
    response = render(
        request,
        "portal/sign_in.html",
        status=status,
        t=t,
        csrf=token,
        message=message,
        sent=sent,
        languages=LANGUAGES,
    )
    keep_form_token(request, response, token)
    return response


@router.get("/sign-in")
def sign_in_form(
    request: Request, lang: Annotated[str | None, Query(max_length=5)] = None
) -> Response:
    return _sign_in_page(request, portal_texts(_language(request, lang)), 200, "", False)


@router.post("/sign-in")
def request_link(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    lang: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    check_form_token(request, csrf)
    settings = settings_of(request)
    config = program_service.current(session)
    link = portal_access.request_link(
        session, email=email, public_url=settings.public_url, now=now_of(request)
    )
    t = portal_texts(_language(request, lang, config.timezone))
    if link is not None:
        mt = portal_texts(language_of(link.locale, club_timezone=config.timezone))
        minutes = int(portal_access.LINK_LIFETIME.total_seconds() // 60)
        portal_access.send_link(
            settings,
            link,
            subject=mt("Sign in to {club}", club=config.name),
            body=mt(
                "Open this link to sign in to {club}. It works once, within {minutes} "
                "minutes:\n\n{url}\n\nIf you did not ask for it, ignore this email.",
                club=config.name,
                minutes=minutes,
                url=link.url,
            ),
        )
    return _sign_in_page(request, t, 200, "", True)


@router.get("/link/{token}")
def open_link(request: Request, session: SessionDep, token: str) -> Response:
    try:
        _, secret = portal_access.open_link(session, token=token, now=now_of(request))
    except LinkInvalid:
        # the portal's own catalogue (portal.po) holds this sentence, not the members' lojal.po
        portal = portal_texts(_language(request, None))
        return _sign_in_page(
            request,
            portal,
            400,
            portal("This sign-in link has been used or has expired. Ask for a new one."),
            False,
        )
    response = RedirectResponse("/portal/", status_code=303)
    set_cookie(
        request,
        response,
        MEMBER_COOKIE,
        secret,
        max_age=int(portal_access.SESSION_LIFETIME.total_seconds()),
    )
    return response


def qr_svg(card: str) -> Markup:
    """The card number (or a coupon's code) as a QR code, an SVG drawn here (segno), scannable
    at the till."""
    code = segno.make_qr(card, error="m")
    svg = code.svg_inline(scale=4, dark="#000", light="#fff", omitsize=True)
    return Markup(svg)


@router.get("/")
def home(request: Request, session: SessionDep, visit: SignedInMember) -> Response:
    now = now_of(request)
    config = program_service.current(session)
    member = members.get(session, visit.member_id)
    summary = summary_service.summary(session, member_id=member.id, now=now)
    t = portal_texts(summary.language)
    card = member.identity("card")
    entries, _ = ledger_queries.entries_page(session, member.id, before=None, limit=HISTORY_SHOWN)
    consents = member_queries.current_consents(session, member.id)
    return render(
        request,
        "portal/home.html",
        t=t,
        member=member,
        summary=summary,
        card=card,
        qr=qr_svg(card) if card else None,
        entries=entries,
        channels=CONSENT_CHANNELS,
        consents={
            c: bool(consents[c].granted) if c in consents else False for c in CONSENT_CHANNELS
        },
        csrf=visit.csrf_token,
        rules=rules_in_words(t, config),
        config=config,
        timezone=config.timezone,
    )


@router.post("/consents")
def set_consent(
    request: Request,
    session: SessionDep,
    visit: SignedInMember,
    channel: Annotated[ConsentChannel, Form()],
    granted: Annotated[bool, Form()],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(csrf, visit.csrf_token)
    members.set_consent(
        session,
        member_id=visit.member_id,
        grant=ConsentGrant(channel=channel, granted=granted, source="portal"),
        now=now_of(request),
    )
    return RedirectResponse("/portal/#consents", status_code=303)


@router.post("/sign-out")
def sign_out(
    request: Request,
    session: SessionDep,
    visit: SignedInMember,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(csrf, visit.csrf_token)
    token = read_cookie(request, MEMBER_COOKIE)
    if token:
        portal_access.sign_out(session, token=token)
    response = RedirectResponse("/portal/sign-in", status_code=303)
    forget_cookie(request, response, MEMBER_COOKIE)
    return response


# ------------------------------------------------------------------ rewards

# A refused redemption in one sentence of the portal's catalogue (the errors' own details are
# English and name configuration keys: they are for the API and the staff).
REFUSALS: dict[type[LojalError], str] = {
    InsufficientPoints: "You do not have enough points for this reward.",
    RewardUnavailable: "This reward is not available any more.",
    RewardNotFound: "This reward is not available any more.",
    OutOfStock: "This reward is sold out.",
    PartnerPoolEmpty: "This reward is sold out.",
    NotEligible: "This reward is not available for your tier.",
    RewardLimitReached: "You have already redeemed this reward as many times as allowed.",
    SpendingOnHold: "Your email or phone number changed recently, so spending points is "
    "paused for a while to protect your account. Try again later.",
    SpendLimitReached: "You have reached the limit for redeeming points for now. Try again later.",
    InvalidPointsAmount: "That number of points cannot be used for this reward.",
}


def refusal(error: LojalError) -> str:
    """The portal's sentence (msgid) for a refused redemption."""
    for kind, sentence in REFUSALS.items():
        if isinstance(error, kind):
            return sentence
    return "The reward could not be redeemed. Try again later."


def _rewards_page(
    request: Request,
    session: SessionDep,
    visit: SignedInMember,
    *,
    status: int = 200,
    message: str = "",
) -> Response:
    now = now_of(request)
    config = program_service.current(session)
    member = members.get(session, visit.member_id)
    summary = summary_service.summary(session, member_id=member.id, now=now)
    t = portal_texts(summary.language)
    redeemed = [
        reward_queries.redemption_read(session, r)
        for r in reward_queries.member_redemptions(session, member.id)
    ]
    return render(
        request,
        "portal/rewards.html",
        status=status,
        t=t,
        summary=summary,
        rewards=rewards.affordable(session, member_id=member.id, now=now),
        redeemed=redeemed,
        names={r.id: r.name for r in reward_queries.list_rewards(session)},
        message=t(message) if message else "",
        csrf=visit.csrf_token,
        form_key=secrets.token_urlsafe(12),
        config=config,
        timezone=config.timezone,
    )


@router.get("/rewards")
def rewards_page(request: Request, session: SessionDep, visit: SignedInMember) -> Response:
    return _rewards_page(request, session, visit)


RewardIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("/rewards/{reward_id}/redeem")
def redeem_reward(
    request: Request,
    session: SessionDep,
    visit: SignedInMember,
    reward_id: RewardIdPath,
    key: Annotated[str, Form(min_length=8, max_length=64)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    points: Annotated[int | None, Form(ge=1, le=10_000_000)] = None,
) -> Response:
    check_csrf(csrf, visit.csrf_token)
    try:
        # a savepoint: a refusal takes back whatever the redemption wrote (settled lots too)
        with session.begin_nested():
            redemption, _ = rewards.redeem(
                session,
                reward_id=reward_id,
                member_id=visit.member_id,
                key=rewards.redemption_key(visit.member_id, f"portal:{key}", None),
                now=now_of(request),
                channel="web",
                points=points,
            )
    except tuple(REFUSALS) as refused:
        return _rewards_page(request, session, visit, status=409, message=refusal(refused))
    return RedirectResponse(f"/portal/rewards/redeemed/{redemption.id}", status_code=303)


@router.get("/rewards/redeemed/{redemption_id}")
def redeemed_reward(
    request: Request,
    session: SessionDep,
    visit: SignedInMember,
    redemption_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> Response:
    found = reward_queries.member_redemption(session, visit.member_id, redemption_id)
    if found is None:  # unknown, or another member's: the same answer
        raise RedemptionNotFound("no such redemption of yours")
    config = program_service.current(session)
    member = members.get(session, visit.member_id)
    t = portal_texts(language_of(member.locale, club_timezone=config.timezone))
    redemption = reward_queries.redemption_read(session, found)
    reward = reward_queries.get_reward(session, found.reward_id)
    code = redemption.coupon.code if redemption.coupon else redemption.partner_code
    return render(
        request,
        "portal/redeemed.html",
        t=t,
        reward=reward,
        redemption=redemption,
        qr=qr_svg(code) if code else None,
        code=code,
        csrf=visit.csrf_token,
        config=config,
        timezone=config.timezone,
    )
