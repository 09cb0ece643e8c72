"""Redeeming a reward in the member portal, on SQLite and PostgreSQL: the coupon shown as its
code and a QR code, each refusal as one sentence in the member's language (and nothing spent),
the CSRF check, and that no member sees another member's redemption."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lojal.clock import FixedClock
from lojal.coupons import queries as coupon_queries
from lojal.coupons.codes import display
from lojal.coupons.models import CouponCode
from lojal.ledger.queries import balance_now
from lojal.members.models import Member
from lojal.pages import portal_access
from lojal.program.schemas import ProgramConfig
from lojal.rewards import service as reward_service
from lojal.rewards.models import RewardRedemption
from lojal.rewards.schemas import RewardUpdate
from tests.conftest import apply_program
from tests.pages.conftest import Site, csrf_of
from tests.rewards.helpers import member_with, reward


@pytest.fixture(autouse=True)
def _fresh_catalogue() -> None:
    coupon_queries.forget_catalogue()


def _sign_in(site: Site, member: Member, clock: FixedClock) -> str:
    """Open the member's sign-in link; the rewards page's HTML."""
    email = member.identity("email")
    assert email
    link = portal_access.request_link(
        site.session, email=email, public_url="https://club", now=clock.now()
    )
    assert link is not None
    site.session.commit()
    home = site.client.get("/portal/link/" + link.url.rsplit("/", 1)[1])
    assert home.status_code == 200, home.text
    page = site.client.get("/portal/rewards")
    assert page.status_code == 200, page.text
    return str(page.text)


def _form(html: str, reward_id: int) -> dict[str, str]:
    key = re.search(rf'name="key" value="([^"]+-{reward_id})"', html)
    assert key, f"no redeem form for reward {reward_id}"
    return {"csrf": csrf_of(html), "key": key.group(1)}


def _available(site: Site, member: Member, clock: FixedClock) -> int:
    site.session.expire_all()
    return balance_now(site.session, member.id, now=clock.now()).available


def test_a_member_redeems_a_reward_and_sees_the_coupon_code_and_qr(
    site: Site, clock: FixedClock, program: ProgramConfig
) -> None:
    prize = reward(site.session, clock, points_price=300, name="Free coffee")
    anna = member_with(site.session, clock, program, 500, email="anna@example.se", locale="sv-SE")
    page = _sign_in(site, anna, clock)
    assert "Free coffee" in page
    assert "Lös in" in page
    answer = site.client.post(
        f"/portal/rewards/{prize.id}/redeem", data=_form(page, prize.id), follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    shown = site.client.get(answer.headers["location"])
    assert shown.status_code == 200
    assert _available(site, anna, clock) == 200
    redemption = site.session.scalars(
        select(RewardRedemption).where(RewardRedemption.member_id == anna.id)
    ).one()
    assert (redemption.points, redemption.channel) == (300, "web")
    code = site.session.get(CouponCode, redemption.coupon_code_id)
    assert code is not None
    assert code.member_id == anna.id
    assert f'data-testid="coupon">{display(code.code)}<' in shown.text
    assert "<svg" in shown.text
    assert "Din kupong" in shown.text
    listed = site.client.get("/portal/rewards")
    assert "Dina inlösta belöningar" in listed.text
    assert f"/portal/rewards/redeemed/{redemption.id}" in listed.text


def test_the_same_form_sent_twice_redeems_once(
    site: Site, clock: FixedClock, program: ProgramConfig
) -> None:
    prize = reward(site.session, clock, points_price=100)
    bo = member_with(site.session, clock, program, 500, email="bo@example.se")
    data = _form(_sign_in(site, bo, clock), prize.id)
    first = site.client.post(f"/portal/rewards/{prize.id}/redeem", data=data)
    again = site.client.post(f"/portal/rewards/{prize.id}/redeem", data=data)
    assert first.status_code == again.status_code == 200
    assert first.url == again.url
    assert _available(site, bo, clock) == 400


def _refused(site: Site, reward_id: int, data: dict[str, str]) -> str:
    answer = site.client.post(f"/portal/rewards/{reward_id}/redeem", data=data)
    assert answer.status_code == 409, answer.text
    found = re.search(r'data-testid="refusal">([^<]+)<', answer.text)
    assert found, answer.text
    return found.group(1)


def test_not_enough_points_is_one_sentence_and_spends_nothing(
    site: Site, clock: FixedClock, program: ProgramConfig
) -> None:
    cheap = reward(site.session, clock, points_price=100)
    dear = reward(site.session, clock, points_price=900)
    cy = member_with(site.session, clock, program, 200, email="cy@example.se", locale="en")
    data = _form(_sign_in(site, cy, clock), cheap.id)
    said = _refused(site, dear.id, data)
    assert said == "You do not have enough points for this reward."
    assert _available(site, cy, clock) == 200


def test_a_reward_switched_off_meanwhile_is_refused_in_finnish(
    site: Site, clock: FixedClock, program: ProgramConfig
) -> None:
    prize = reward(site.session, clock, points_price=100)
    di = member_with(site.session, clock, program, 200, email="di@example.fi", locale="fi-FI")
    data = _form(_sign_in(site, di, clock), prize.id)
    reward_service.update_reward(
        site.session, reward_id=prize.id, data=RewardUpdate(active=False), now=clock.now()
    )
    site.session.commit()
    assert _refused(site, prize.id, data) == "Tämä palkinto ei ole enää saatavilla."
    assert _refused(site, 999_999, data) == "Tämä palkinto ei ole enää saatavilla."
    assert _available(site, di, clock) == 200


def test_spending_on_hold_after_an_email_change_is_refused_in_norwegian(
    site: Site, clock: FixedClock
) -> None:
    config = apply_program(site.session, clock.now(), fraud={"identity_hold_hours": 24})
    prize = reward(site.session, clock, points_price=100)
    ea = member_with(site.session, clock, config, 200, email="ea@example.no", locale="nb-NO")
    ea.identity_changed_at = clock.now() - timedelta(hours=1)
    said = _refused(site, prize.id, _form(_sign_in(site, ea, clock), prize.id))
    assert said.startswith("E-postadressen eller telefonnummeret ditt ble endret nylig")
    assert _available(site, ea, clock) == 200


def test_a_spend_limit_is_refused_in_swedish(site: Site, clock: FixedClock) -> None:
    config = apply_program(
        site.session, clock.now(), fraud={"spend_limits": {"per_hour": {"count": 1}}}
    )
    prize = reward(site.session, clock, points_price=100)
    fi = member_with(site.session, clock, config, 500, email="fi@example.se", locale="sv-SE")
    page = _sign_in(site, fi, clock)
    first = site.client.post(f"/portal/rewards/{prize.id}/redeem", data=_form(page, prize.id))
    assert first.status_code == 200
    page = site.client.get("/portal/rewards").text
    said = _refused(site, prize.id, _form(page, prize.id))
    assert (
        said
        == "Du har nått gränsen för hur mycket poäng du kan lösa in just nu. Försök igen senare."
    )
    assert _available(site, fi, clock) == 400


def test_a_redeem_form_without_the_csrf_token_is_refused(
    site: Site, clock: FixedClock, program: ProgramConfig
) -> None:
    prize = reward(site.session, clock, points_price=100)
    gu = member_with(site.session, clock, program, 200, email="gu@example.se")
    data = _form(_sign_in(site, gu, clock), prize.id)
    answer = site.client.post(
        f"/portal/rewards/{prize.id}/redeem", data={**data, "csrf": "not-the-token"}
    )
    assert answer.status_code == 403
    assert _available(site, gu, clock) == 200
    assert site.session.scalars(select(RewardRedemption)).all() == []


def test_a_member_cannot_see_another_members_redemption_or_coupon(
    site: Site, clock: FixedClock, program: ProgramConfig
) -> None:
    prize = reward(site.session, clock, points_price=100)
    ho = member_with(site.session, clock, program, 200, email="ho@example.se")
    io = member_with(site.session, clock, program, 200, email="io@example.se")
    page = _sign_in(site, ho, clock)
    done = site.client.post(
        f"/portal/rewards/{prize.id}/redeem", data=_form(page, prize.id), follow_redirects=False
    )
    assert done.status_code == 303
    mine = done.headers["location"]
    redemption = site.session.scalars(select(RewardRedemption)).one()
    code = site.session.get(CouponCode, redemption.coupon_code_id)
    assert code is not None
    site.client.cookies.clear()
    listed = _sign_in(site, io, clock)
    assert display(code.code) not in listed
    assert mine not in listed
    theirs = site.client.get(mine)
    assert theirs.status_code == 404
    assert display(code.code) not in theirs.text
