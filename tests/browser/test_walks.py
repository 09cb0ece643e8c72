"""The pages in a real browser: Debian's Chromium driven by Playwright, lojal served by
uvicorn on a free loopback port over a small demo club, a real SMTP server for the portal's
link. Screenshots go to ``build/screenshots/`` (see the README). Under CI a missing Chromium
fails the run (``make browser`` installs it); elsewhere these tests are skipped without it."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from sqlalchemy import select

from lojal.app import create_app
from lojal.clock import SystemClock
from lojal.config import Settings
from lojal.coupons.codes import display
from lojal.coupons.models import CouponCode
from lojal.db.engine import make_engine
from lojal.db.migrate import upgrade
from lojal.db.session import make_session_factory, transaction
from lojal.demo.generator import busiest_member, generate
from lojal.ledger import service as ledger
from lojal.members.models import Member
from lojal.pages import accounts
from lojal.program import service as program_service
from lojal.rewards import service as reward_service
from lojal.rewards.models import RewardRedemption
from lojal.rewards.schemas import RewardCreate
from lojal.segments import queries as segment_queries
from lojal.segments import service as segment_service
from lojal.segments.definition import parse_definition
from lojal.segments.schemas import SegmentCreate
from tests.pages.test_admin_and_portal import Inbox

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).parents[2] / "build" / "screenshots"
PASSWORD = "correct horse battery staple"

playwright_api = pytest.importorskip("playwright.sync_api")

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail("Chromium is required under CI: run `make browser`", pytrace=False)
    pytest.skip("Chromium is not installed (make browser)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Club:
    def __init__(
        self, url: str, inbox: Inbox, member_email: str, member_id: int, database_url: str = ""
    ) -> None:
        self.url = url
        self.inbox = inbox
        self.member_email = member_email
        self.member_id = member_id
        self.database_url = database_url


@pytest.fixture(scope="module")
def club(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Club]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'lojal.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    now = SystemClock().now()
    generate(factory, members=150, seed=3, now=now, pepper="browser", batch_size=2000)
    with transaction(factory) as session:
        for role in ("owner", "store_staff"):
            accounts.add_user(
                session, email=f"{role}@example.com", role=role, password=PASSWORD, now=now
            )
        member_id = busiest_member(session)
        assert member_id is not None
        member = session.get(Member, member_id)
        assert member is not None
        email = member.identity("email")
        assert email
        member.locale = "sv-SE"
    engine.dispose()
    inbox = Inbox()
    smtp_port = _free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=database_url,
        environment="test",
        public_url=url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield Club(url, inbox, email, member_id, database_url)
    server.should_exit = True
    thread.join(10)
    smtp.stop()


@pytest.fixture(scope="module")
def browser(club: Club) -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def _page(browser: Any, *, phone: bool = False) -> Any:
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    return browser.new_context(viewport=size, locale="en-GB").new_page()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _no_serious_violations(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious


def _sign_in(page: Any, club: Club, role: str) -> None:
    page.goto(f"{club.url}/staff/sign-in")
    page.get_by_label("Email").fill(f"{role}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_staff_find_a_member_and_adjust_points(browser: Any, club: Club) -> None:
    page = _page(browser)
    _sign_in(page, club, "owner")
    page.goto(f"{club.url}/staff/members")
    page.get_by_label(re.compile("Email, phone, card number")).fill(club.member_email)
    page.get_by_role("button", name="Find").click()
    page.wait_for_url(re.compile(rf"/staff/members/{club.member_id}$"))
    before = int(page.get_by_test_id("available").inner_text().replace(",", ""))
    page.get_by_label("Points (negative to take away)").fill("120")
    page.get_by_label("Reason (kept in the ledger)").fill("goodwill after a late delivery")
    page.get_by_role("button", name="Adjust").click()
    page.get_by_text("The points were adjusted.").wait_for()
    after = int(page.get_by_test_id("available").inner_text().replace(",", ""))
    assert after == before + 120
    assert page.get_by_text("+120 points: goodwill after a late delivery").count() == 1
    _no_serious_violations(page)
    _shot(page, "member-360")


def test_the_dashboard_draws_its_charts(browser: Any, club: Club) -> None:
    page = _page(browser)
    _sign_in(page, club, "owner")
    page.goto(f"{club.url}/staff/")
    for chart in ("new-members", "points", "liability", "tiers"):
        bars = page.locator(f'svg[data-chart="{chart}"] rect.bar')
        heights = [
            float(h) for h in bars.evaluate_all("els => els.map(e => e.getAttribute('height'))")
        ]
        assert heights, chart
        assert max(heights) > 0, f"{chart} is empty"
        box = page.locator(f'svg[data-chart="{chart}"]').bounding_box()
        assert box is not None
        assert box["width"] > 100
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download .*issued.* as CSV")).click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",Issued,Redeemed,Expired"
    _no_serious_violations(page)
    _shot(page, "dashboard")


def test_store_staff_cannot_open_the_programme_settings(browser: Any, club: Club) -> None:
    page = _page(browser)
    _sign_in(page, club, "store_staff")
    page.wait_for_url(re.compile("/staff/members$"))
    assert page.get_by_role("link", name="Programme").count() == 0
    answer = page.goto(f"{club.url}/staff/program")
    assert answer is not None
    assert answer.status == 403
    assert page.get_by_role("heading", name="Not allowed").count() == 1


def test_a_member_signs_in_by_the_emailed_link_and_withdraws_a_consent(
    browser: Any, club: Club
) -> None:
    page = _page(browser, phone=True)
    page.goto(f"{club.url}/portal/sign-in?lang=sv")
    _no_serious_violations(page)
    page.get_by_label("Din e-postadress").fill(club.member_email)
    page.get_by_role("button", name="Skicka en inloggningslänk").click()
    page.get_by_text("inloggningslänk på väg").wait_for()
    deadline = time.monotonic() + 10
    while not club.inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    body = club.inbox.messages[-1].get_payload(decode=True)
    assert isinstance(body, bytes)
    link = re.search(r"http://\S+/portal/link/\S+", body.decode())
    assert link
    page.goto(link.group(0))
    page.get_by_role("heading", name="Ditt medlemskort").wait_for()
    qr = page.locator("figure.qr svg")
    assert qr.count() == 1
    assert page.get_by_test_id("card").inner_text().strip()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the portal scrolls sideways on a phone"
    email = page.get_by_test_id("consent-email")
    if "på" in email.inner_text().rsplit(":", 1)[1]:
        page.get_by_role("button", name="Stäng av: e-post").click()
    else:  # give it first, then withdraw it
        page.get_by_role("button", name="Slå på: e-post").click()
        page.get_by_role("button", name="Stäng av: e-post").click()
    page.get_by_text("Erbjudanden via e-post: av").wait_for()
    _no_serious_violations(page)
    _shot(page, "portal-phone")


def test_staff_build_a_segment_and_see_its_count(browser: Any, club: Club) -> None:
    page = _page(browser)
    _sign_in(page, club, "owner")
    page.goto(f"{club.url}/staff/segments/new")
    page.get_by_label("Name").fill("Bought twice this year")
    page.get_by_label("Code (lower-case letters").fill("twice-this-year")
    page.get_by_label("Add a condition").select_option("purchases")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_label("Condition 1: over the last days").fill("365")
    page.get_by_label("Condition 1: value").fill("2")
    count = page.get_by_test_id("count")
    page.wait_for_function("() => /^[0-9,]+ members$/.test(document.getElementById('count').value)")
    shown = int(count.inner_text().split()[0].replace(",", ""))
    definition = json.loads(page.locator("#definition").input_value())
    assert definition == {
        "all": [
            {
                "activity": "purchases",
                "within": {"last_days": 365},
                "measure": "count",
                "op": "gte",
                "value": 2,
            }
        ]
    }
    engine = make_engine(club.database_url)
    try:
        with transaction(make_session_factory(engine), read_only=True) as session:
            expected, _ = segment_queries.preview(
                session, parse_definition(definition), now=SystemClock().now(), sample=0
            )
    finally:
        engine.dispose()
    assert shown == expected > 0
    page.get_by_label("Add a condition").select_option("field")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_label("Condition 2: member field").select_option("member.consent.email")
    page.wait_for_function(
        "() => /^[0-9,]+ members$/.test(document.getElementById('count').value)"
        f" && document.getElementById('count').value !== '{count.inner_text()}'"
    )
    narrower = int(count.inner_text().split()[0].replace(",", ""))
    assert 0 < narrower < shown
    _no_serious_violations(page)
    page.get_by_role("button", name="Save the segment").click()
    page.get_by_text("The segment “twice-this-year” was saved.").wait_for()
    size = int(page.get_by_test_id("size-twice-this-year").inner_text().replace(",", ""))
    assert size == narrower
    _no_serious_violations(page)


def test_the_dashboard_draws_ifrs_15_and_the_insight(browser: Any, club: Club) -> None:
    page = _page(browser)
    _sign_in(page, club, "owner")
    page.goto(f"{club.url}/staff/")
    for chart in ("points-revenue", "redemption-rate", "clv", "churn"):
        heights = page.locator(f'svg[data-chart="{chart}"] rect.bar').evaluate_all(
            "els => els.map(e => parseFloat(e.getAttribute('height')))"
        )
        assert heights, chart
        assert max(heights) > 0, f"{chart} is empty"
    for grid in ("rfm", "cohorts"):
        shades = page.locator(f'svg[data-chart="{grid}"] rect.cell').evaluate_all(
            "els => els.map(e => parseFloat(e.dataset.shade))"
        )
        assert shades, grid
        assert max(shades) > 0, f"{grid} is empty"
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download .Cohort retention.* as CSV")).click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("First purchase,0,1")
    _no_serious_violations(page)


def _open_portal_by_link(page: Any, club: Club) -> None:
    """Ask for a sign-in link in Swedish and open the one that arrives."""
    sent = len(club.inbox.messages)
    page.goto(f"{club.url}/portal/sign-in?lang=sv")
    page.get_by_label("Din e-postadress").fill(club.member_email)
    page.get_by_role("button", name="Skicka en inloggningslänk").click()
    page.get_by_text("inloggningslänk på väg").wait_for()
    deadline = time.monotonic() + 10
    while len(club.inbox.messages) == sent and time.monotonic() < deadline:
        time.sleep(0.05)
    body = club.inbox.messages[-1].get_payload(decode=True)
    assert isinstance(body, bytes)
    link = re.search(r"http://\S+/portal/link/\S+", body.decode())
    assert link
    page.goto(link.group(0))
    page.get_by_role("heading", name="Ditt medlemskort").wait_for()


def test_a_member_redeems_a_reward_and_sees_the_coupon(browser: Any, club: Club) -> None:
    price = 50
    engine = make_engine(club.database_url)
    try:
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            now = SystemClock().now()
            prize = reward_service.create_reward(
                session,
                data=RewardCreate.model_validate(
                    {
                        "code": "walk-coffee",
                        "name": "Kaffe på huset",
                        "kind": "coupon",
                        "points_price": price,
                        "coupon": {"discount_kind": "amount", "amount_minor": 3_500},
                    }
                ),
                now=now,
            )
            reward_id = prize.id
            ledger.adjust(
                session,
                member_id=club.member_id,
                points=price,
                reason="walk",
                key="walk:reward-points",
                now=now,
                config=program_service.current(session),
            )
        page = _page(browser, phone=True)
        _open_portal_by_link(page, club)
        page.get_by_role("link", name="Lös in belöningar och se dina kuponger").click()
        page.get_by_role("heading", name="Belöningar", exact=True).wait_for()
        _no_serious_violations(page)
        before = int(re.sub(r"\D", "", page.get_by_test_id("available").inner_text()))
        form = page.locator(f'form[action="/portal/rewards/{reward_id}/redeem"]')
        form.get_by_role("button", name="Lös in").click()
        page.get_by_role("heading", name="Din kupong").wait_for()
        shown = page.get_by_test_id("coupon").inner_text().strip()
        assert shown
        assert page.locator('[data-testid="coupon-qr"] svg').count() == 1
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the coupon page scrolls sideways on a phone"
        _no_serious_violations(page)
        _shot(page, "portal-coupon-phone")
        page.get_by_role("link", name="Belöningar").click()
        page.get_by_role("heading", name="Dina inlösta belöningar").wait_for()
        after = int(re.sub(r"\D", "", page.get_by_test_id("available").inner_text()))
        assert after == before - price
        _no_serious_violations(page)
        _shot(page, "portal-rewards-phone")
        with transaction(factory, read_only=True) as session:
            redemption = session.scalars(
                select(RewardRedemption).where(
                    RewardRedemption.member_id == club.member_id,
                    RewardRedemption.reward_id == reward_id,
                )
            ).one()
            code = session.get(CouponCode, redemption.coupon_code_id)
            assert code is not None
            assert code.member_id == club.member_id
            assert display(code.code) == shown
            assert redemption.points == price
    finally:
        engine.dispose()


def test_staff_edit_a_saved_segment_in_the_builder(browser: Any, club: Club) -> None:
    saved = {
        "all": [
            {
                "activity": "purchases",
                "within": {"last_days": 180},
                "measure": "count",
                "op": "gte",
                "value": 1,
            },
            {"field": "member.consent.email", "op": "eq", "value": True},
        ]
    }
    engine = make_engine(club.database_url)
    try:
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            segment_service.create(
                session,
                data=SegmentCreate.model_validate(
                    {"code": "walk-edit", "name": "Half-year buyers", "definition": saved}
                ),
                now=SystemClock().now(),
            )
        page = _page(browser)
        _sign_in(page, club, "owner")
        page.goto(f"{club.url}/staff/segments")
        page.get_by_role("link", name="Edit walk-edit").click()
        page.get_by_role("heading", name="Edit the segment walk-edit").wait_for()
        # the saved definition is read back into the builder's rows
        assert page.get_by_label("Condition 1: over the last days").input_value() == "180"
        assert page.get_by_label("Condition 2: member field").input_value() == (
            "member.consent.email"
        )
        assert json.loads(page.locator("#definition").input_value()) == saved
        page.wait_for_function(
            "() => /^[0-9,]+ members$/.test(document.getElementById('count').value)"
        )
        _no_serious_violations(page)
        page.get_by_label("Condition 1: value").fill("2")
        page.get_by_role("button", name="Remove condition 2").click()
        page.get_by_label("Name").fill("Bought twice in half a year")
        page.get_by_role("button", name="Save the segment").click()
        page.get_by_text("The segment “walk-edit” was saved.").wait_for()
        with transaction(factory, read_only=True) as session:
            segment = segment_queries.get(session, "walk-edit")
            assert segment.name == "Bought twice in half a year"
            assert segment.definition == {"all": [{**saved["all"][0], "value": 2}]}
    finally:
        engine.dispose()
