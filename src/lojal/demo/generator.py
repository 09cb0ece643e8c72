"""A demo club with a believable year of activity, deterministic for a seed and an end date.

Kafferosteriet Klubb (``club.yaml``): members with Swedish names enrolled in the shop, on the
web and in the app; a catalogue of coffee, tea, pastries and merchandise; a year of purchases
with a Christmas peak and a summer dip (each member coming back for a few favourites, and
coffee often with a pastry), some returns, and e-mail, browsing, survey, review and
profile events. Members go through ``lojal.enrolment.enrol``, purchases through the bulk
path (``lojal.activities.bulk``), returns and events through the ordinary services.
"""

from __future__ import annotations

import math
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lojal.activities import member_events
from lojal.activities import returns as activity_returns
from lojal.activities.batch import BulkPurchase
from lojal.activities.bulk import import_purchases
from lojal.activities.events import LineFacts
from lojal.activities.models import Purchase
from lojal.activities.schemas import EventCreate, ReturnCreate
from lojal.badges import service as badges
from lojal.badges.schemas import BadgeCreate
from lojal.calendar import add_months
from lojal.challenges import service as challenges
from lojal.clock import FixedClock
from lojal.db.session import transaction
from lojal.demo.journeys import apply_ready_made
from lojal.imports.members import MemberRow, import_members
from lojal.insight import tasks as insight
from lojal.insight.errors import NotEnoughHistory
from lojal.jobs.service import run_due
from lojal.ledger.queries import balance_now
from lojal.members.models import Member, MemberIdentity
from lojal.members.schemas import ConsentGrant, MemberCreate
from lojal.program import service as program_service
from lojal.rewards import queries as rewards_queries
from lojal.rewards import service as rewards
from lojal.rewards.schemas import RewardCreate
from lojal.staff import service as staff

CLUB_FILE = Path(__file__).with_name("club.yaml")
CHALLENGES_FILE = Path(__file__).with_name("challenges.yaml")
REWARDS_FILE = Path(__file__).with_name("rewards.yaml")
BADGES = {
    "upptackare": ("Upptäckaren", "Handlade från fyra kategorier på ett kvartal."),
    "stamgast": ("Stamgäst", "Handlade varje vecka fyra veckor i rad."),
    "tyckare": ("Tyckare", "Svarade på kundenkäten."),
}
# Rewards members redeem at the end of a month: (code, points price, chance when affordable).
REDEEMED = (("rabatt-50", 1000, 0.35), ("kaffe", 400, 0.4))
# A line is one of the member's favourites this often, else anything in the catalogue; a
# basket with a coffee or a tea gets a pastry this often.
HABIT = 0.6
FIKA = 0.35
MARKER = "demo-1"  # the external id of the first demo member
TZ = ZoneInfo("Europe/Stockholm")

FIRST_NAMES = (
    "Anna",
    "Eva",
    "Maria",
    "Karin",
    "Sara",
    "Emma",
    "Elin",
    "Ida",
    "Linnea",
    "Maja",
    "Astrid",
    "Ingrid",
    "Sofia",
    "Hanna",
    "Johanna",
    "Erik",
    "Lars",
    "Karl",
    "Anders",
    "Johan",
    "Per",
    "Nils",
    "Mikael",
    "Oskar",
    "Lucas",
    "Axel",
    "Gustav",
    "Björn",
    "Sven",
    "Olof",
    "Henrik",
    "Jonas",
    "Åsa",
    "Märta",
    "Göran",
)
LAST_NAMES = (
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Jansson",
    "Hansson",
    "Bengtsson",
    "Lindberg",
    "Lindström",
    "Lundgren",
    "Berg",
    "Holm",
    "Sjöberg",
    "Ström",
    "Åberg",
    "Öberg",
    "Wallin",
    "Nyström",
    "Ekström",
)
CATALOGUE: dict[str, list[tuple[str, int]]] = {
    "kaffe": [
        ("Bryggkaffe", 3200),
        ("Cappuccino", 4500),
        ("Latte", 4900),
        ("Espresso", 3000),
        ("Flat white", 4800),
        ("Iskaffe", 5200),
    ],
    "te": [("Earl Grey", 3500), ("Grönt te", 3500), ("Chai latte", 4900)],
    "bakverk": [
        ("Kanelbulle", 3500),
        ("Kardemummabulle", 3800),
        ("Semla", 5500),
        ("Chokladboll", 2500),
        ("Lussekatt", 3200),
        ("Prinsesstårta", 6500),
    ],
    "smörgåsar": [("Räksmörgås", 11900), ("Ostsmörgås", 6500), ("Vegansk wrap", 8900)],
    "kaffebönor": [
        ("Mellanrost 450 g", 14900),
        ("Mörkrost 450 g", 14900),
        ("Etiopien Yirgacheffe 250 g", 12900),
        ("Espressobönor 1 kg", 32900),
    ],
    "tillbehör": [
        ("Termosmugg", 24900),
        ("Kaffekvarn", 59900),
        ("Presskanna", 34900),
        ("Filterpapper", 3900),
    ],
}
EVENT_TYPES = (
    ("email_opened", 40),
    ("email_clicked", 15),
    ("product_viewed", 30),
    ("survey_answered", 6),
    ("review_written", 5),
    ("profile_completed", 4),
)


@dataclass
class DemoSummary:
    members: int = 0
    purchases: int = 0
    returns: int = 0
    events: int = 0
    points: int = 0
    redemptions: int = 0
    already_loaded: bool = False
    api_key: str = ""
    example_member: int | None = None  # a member with the club's busiest history, to try


def busiest_member(session: Session) -> int | None:
    """The active member with the most purchases (the lowest id of those)."""
    purchases = func.count(Purchase.id)
    return session.scalar(
        select(Purchase.member_id)
        .join(Member, Member.id == Purchase.member_id)
        .where(Member.status == "active")
        .group_by(Purchase.member_id)
        .order_by(purchases.desc(), Purchase.member_id)
        .limit(1)
    )


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def seasonality(day: date) -> float:
    """Relative purchase volume: a Christmas peak, a summer dip, busier weekends."""
    doy = day.timetuple().tm_yday
    weight = 1.0 + 0.15 * math.cos(2 * math.pi * (doy - 15) / 365)
    if day.month == 12:
        weight *= 1.0 + 1.2 * max(0.0, 1 - abs(day.day - 20) / 15)
    if day.month == 7:
        weight *= 0.55
    if day.weekday() >= 5:
        weight *= 1.3
    return weight


def is_loaded(session: Session) -> bool:
    return (
        session.scalar(
            select(MemberIdentity.id).where(
                MemberIdentity.kind == "external_id", MemberIdentity.value == MARKER
            )
        )
        is not None
    )


def generate(
    factory: sessionmaker[Session],
    *,
    members: int = 3000,
    seed: int = 1,
    until: date | None = None,
    now: datetime,
    pepper: str,
    batch_size: int = 5000,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoSummary:
    """Apply the programme and load the club; a second run only makes a new API key.
    ``progress(phase, done, total)`` is told how far each phase (members, purchases, returns,
    events, jobs) has got."""
    summary = DemoSummary()

    def report(phase: str, done: int, total: int) -> None:
        if progress is not None:
            progress(phase, done, total)

    until = until or now.astimezone(TZ).date()
    with transaction(factory) as session:
        summary.already_loaded = is_loaded(session)
        if not summary.already_loaded:
            text = CLUB_FILE.read_text(encoding="utf-8")
            program_service.apply(session, config=program_service.parse(text), source=text, now=now)
        _, summary.api_key = staff.create_key(
            session, name="demo admin", kind="admin", pepper=pepper, now=now
        )
    if summary.already_loaded:
        with transaction(factory, read_only=True) as session:
            summary.example_member = busiest_member(session)
        return summary
    rnd = random.Random(seed)
    start = until - timedelta(days=365)

    # Badges and challenges, running from the start of the year of activity (so the
    # purchases below count towards them as they are loaded).
    with transaction(factory) as session:
        for code, (name, description) in BADGES.items():
            badges.create(
                session,
                data=BadgeCreate(code=code, name=name, description=description),
                now=now,
            )
        for definition in challenges.parse(CHALLENGES_FILE.read_text(encoding="utf-8")):
            row, _ = challenges.apply(
                session, definition=definition.model_copy(update={"starts_at": start}), now=now
            )
            challenges.activate(session, code=row.code, now=now)
        for item in yaml.safe_load(REWARDS_FILE.read_text(encoding="utf-8")):
            rewards.create_reward(session, data=RewardCreate.model_validate(item), now=now)

    # Members
    people: list[tuple[str, datetime, str]] = []  # external id, enrolled at, channel
    rows: list[MemberRow] = []
    for i in range(1, members + 1):
        first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
        channel = rnd.choices(("store", "web", "app"), (55, 25, 20))[0]
        if rnd.random() < 0.6:
            enrolled_day = start - timedelta(days=rnd.randint(1, 900))
        else:
            enrolled_day = start + timedelta(days=rnd.randint(0, 364))
        enrolled_at = datetime.combine(enrolled_day, time(rnd.randint(8, 19)), TZ).astimezone(UTC)
        external_id = f"demo-{i}"
        email = f"{_ascii(first)}.{_ascii(last)}{i}@example.se"
        data = MemberCreate(
            channel=channel,
            email=email,
            external_id=external_id,
            first_name=first,
            last_name=last,
            locale="sv-SE",
            phone=f"+4670{rnd.randint(1000000, 9999999)}" if rnd.random() < 0.5 else None,
            birth_date=date(rnd.randint(1950, 2006), rnd.randint(1, 12), rnd.randint(1, 28)),
            enrolled_at=enrolled_at,
            consents=[
                ConsentGrant(channel="email", granted=rnd.random() < 0.7, source=channel),
                ConsentGrant(channel="ads", granted=rnd.random() < 0.4, source=channel),
            ],
        )
        identities = [("email", email), ("external_id", external_id)]
        if data.phone:
            identities.append(("phone", data.phone))
        rows.append(MemberRow(0, data, tuple(identities)))
        people.append((external_id, enrolled_at, channel))
    for offset in range(0, len(rows), batch_size):
        report("members", offset, len(rows))
        with transaction(factory) as session:
            enrolled = import_members(
                session, rows[offset : offset + batch_size], now=now, region="SE"
            )
            summary.members += enrolled.written
    report("members", len(rows), len(rows))

    # Purchases: about ten a member over the year, a few members buy much more.
    days = [start + timedelta(days=d) for d in range(1, 366)]
    weights = [seasonality(d) for d in days]
    products = [(cat, name, price) for cat, items in CATALOGUE.items() for name, price in items]
    activity = [rnd.paretovariate(1.6) for _ in people]
    # each member has a few favourites they come back for (the recommendations learn them)
    favourites = [rnd.sample(products, rnd.randint(2, 4)) for _ in people]
    pastries = [p for p in products if p[0] == "bakverk"]
    planned: list[BulkPurchase] = []
    total = members * 10
    chosen_days = rnd.choices(days, weights, k=total)
    buyers = rnd.choices(range(len(people)), activity, k=total)
    for day, who in zip(chosen_days, buyers, strict=True):
        external_id, enrolled_at, channel = people[who]
        local = datetime.combine(day, time(rnd.randint(7, 18), rnd.randint(0, 59)), TZ)
        at = local.astimezone(UTC)
        if at < enrolled_at or at > now:
            continue
        lines = []
        chosen = [
            rnd.choice(favourites[who]) if rnd.random() < HABIT else rnd.choice(products)
            for _ in range(rnd.choices((1, 2, 3, 4), (45, 30, 15, 10))[0])
        ]
        # fika: a coffee or a tea often comes with something from the bakery
        if any(c[0] in ("kaffe", "te") for c in chosen) and rnd.random() < FIKA:
            chosen.append(rnd.choice(pastries))
        for category, name, price in chosen:
            lines.append(
                LineFacts.of(
                    sku=_ascii(name).replace(" ", "-"),
                    name=name,
                    category=category,
                    unit_price_minor=price,
                    quantity=rnd.choices((1, 2, 3), (80, 15, 5))[0],
                )
            )
        buy_channel = channel if rnd.random() < 0.7 else rnd.choice(("store", "web", "app"))
        planned.append(
            BulkPurchase(
                order_id="",
                occurred_at=at,
                lines=tuple(lines),
                external_id=external_id,
                channel=buy_channel,
                store_id=f"butik-{rnd.randint(1, 6)}" if buy_channel == "store" else None,
            )
        )
    planned.sort(key=lambda p: p.occurred_at)
    numbered = [
        BulkPurchase(
            order_id=f"demo-{n:07d}",
            occurred_at=p.occurred_at,
            lines=p.lines,
            external_id=p.external_id,
            channel=p.channel,
            store_id=p.store_id,
        )
        for n, p in enumerate(planned, start=1)
    ]
    for offset in range(0, len(numbered), batch_size):
        report("purchases", offset, len(numbered))
        with transaction(factory) as session:
            result = import_purchases(session, numbered[offset : offset + batch_size], now)
        summary.purchases += result.written
        summary.points += result.points
    report("purchases", len(numbered), len(numbered))

    # Returns: about three in a hundred purchases, within the return window.
    with transaction(factory) as session:
        for done, p in enumerate(numbered):
            if done % 1000 == 0:
                report("returns", done, len(numbered))
            if rnd.random() >= 0.03:
                continue
            returned_at = p.occurred_at + timedelta(days=rnd.randint(1, 13))
            if returned_at > now:
                continue
            activity_returns.record_return(
                session,
                data=ReturnCreate(
                    return_id=f"{p.order_id}-r", order_id=p.order_id, occurred_at=returned_at
                ),
                now=now,
            )
            summary.returns += 1
    report("returns", len(numbered), len(numbered))

    # Events: e-mail engagement, browsing, surveys, reviews, completed profiles.
    types = [t for t, _ in EVENT_TYPES]
    type_weights = [w for _, w in EVENT_TYPES]
    with transaction(factory) as session:
        n = 0
        for done, (external_id, enrolled_at, channel) in enumerate(people):
            if done % 200 == 0:
                report("events", done, len(people))
            for _ in range(rnd.randint(0, 4)):
                kind = rnd.choices(types, type_weights)[0]
                day = rnd.choices(days, weights)[0]
                at = datetime.combine(day, time(rnd.randint(6, 22)), TZ).astimezone(UTC)
                if at < enrolled_at or at > now:
                    continue
                n += 1
                member_events.record_event(
                    session,
                    data=EventCreate(
                        event_id=f"demo-e-{n}",
                        type=kind,
                        external_id=external_id,
                        channel="web" if kind.startswith("email") else channel,
                        occurred_at=at,
                        properties={"campaign": f"nyhetsbrev-{day:%Y-%m}"}
                        if kind.startswith("email")
                        else {},
                    ),
                    now=now,
                )
        summary.events = n
    report("events", len(people), len(people))

    # Redemptions: at the end of each month some members with enough points spend them on a
    # reward, through the rewards' own path (the ledger first writes what the lots owe then).
    with transaction(factory) as session:
        member_ids = dict(
            session.execute(
                select(MemberIdentity.value, MemberIdentity.member_id).where(
                    MemberIdentity.kind == "external_id"
                )
            ).all()
        )
        offers = [
            (rewards_queries.find_reward(session, code).id, price, chance)
            for code, price, chance in REDEEMED
        ]
        month = add_months(start.replace(day=1), 1)
        while month <= until:
            report("redemptions", (month - start).days, 365)
            at = datetime.combine(month, time(0), TZ).astimezone(UTC) - timedelta(hours=2)
            for external_id, enrolled_at, _ in people:
                if enrolled_at > at or rnd.random() >= 0.15:
                    continue
                member_id = member_ids[external_id]
                held = balance_now(session, member_id, now=at).available
                for reward_id, price, chance in offers:
                    if held >= price and rnd.random() < chance:
                        rewards.redeem(
                            session,
                            reward_id=reward_id,
                            member_id=member_id,
                            key=f"demo-{external_id}-{month:%Y-%m}",
                            now=at,
                        )
                        summary.redemptions += 1
                        break
            month = add_months(month, 1)
    report("redemptions", 365, 365)

    # What the scheduled job would have done by now: points past the return window become
    # spendable, old points expire, referral rewards mature, tiers are reviewed.
    report("jobs", 0, 1)
    run_due(factory, clock=FixedClock(now))
    # The ready-made journeys, switched on: for what happens from now on.
    with transaction(factory) as session:
        apply_ready_made(session, now=now)
    report("jobs", 1, 1)
    # ... and the day's refit of the insight figures (RFM, CLV, churn risk)
    try:
        with transaction(factory) as session:
            insight.refit(session, now=now)
    except NotEnoughHistory:  # a club too small for the models: no figures
        pass
    with transaction(factory, read_only=True) as session:
        summary.example_member = busiest_member(session)
    return summary
