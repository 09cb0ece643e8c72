"""The ready-made journeys of the demo club (``lojal/demo/journeys.yaml``), end to end: a frozen
clock, the worker running every kind of job, mail to a real SMTP server (aiosmtpd) and SMS and
push to a local HTTP provider. Each fires for the right members on the right day — across the
change to summer time and 29 February — once, not without consent, within the caps and quiet
hours, and keeps its control group out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from lojal.activities import service as activities
from lojal.activities.member_events import record_event
from lojal.activities.schemas import EventCreate, PurchaseCreate
from lojal.calendar import local_day
from lojal.journeys import queries, triggers
from lojal.journeys.entry import definition_of
from lojal.journeys.models import Journey
from lojal.journeys.steps import placement_of
from lojal.ledger.models import JournalEntry, PointLot
from lojal.memberships import service as memberships
from lojal.memberships.schemas import PaymentCreate, PlanCreate
from lojal.messaging.service import Draft, send
from tests.journeys.club import DAY, START, ZONE, Club, local


def _held_out(club: Club, member_id: int, journey: str) -> bool:
    """Whether the member falls in a control group of the journey (their stable bucket)."""
    with club.session() as session:
        found = queries.get(session, journey)
        placed = placement_of(session, found, definition_of(found), member_id, club.clock.now())
        return placed.held_out


def _purchase(club: Club, member_id: int, total_minor: int, at: datetime, order: str) -> None:
    with club.session() as session:
        activities.record_purchase(
            session,
            data=PurchaseCreate.model_validate(
                {
                    "order_id": order,
                    "member_id": member_id,
                    "channel": "store",
                    "occurred_at": at.isoformat(),
                    "lines": [{"sku": "bryggkaffe", "unit_price_minor": total_minor}],
                }
            ),
            now=club.clock.now(),
        )


def _event(club: Club, member_id: int, type_: str, event_id: str) -> None:
    with club.session() as session:
        record_event(
            session,
            data=EventCreate(event_id=event_id, type=type_, member_id=member_id),
            now=club.clock.now(),
        )


def test_welcome_code_on_sign_up_once_and_only_with_consent(club: Club) -> None:
    anna = club.member("anna@example.se", "email", first_name="Anna")
    bo = club.member("bo@example.se", first_name="Bo")  # no email consent
    club.run()
    (mail,) = club.mails("anna@example.se")
    assert mail["Subject"] == "Välkommen till Kafferosteriet Klubb, Anna!"
    (run,) = club.runs("valkommen", anna)
    assert run.state == "done"
    code = run.context["coupon_code"]
    assert code in mail.get_content()
    assert [h["did"] for h in run.history] == ["coupon", "sent"]
    # Bo's run went the same way, but the sender found no consent: nothing reached him
    assert club.mails("bo@example.se") == []
    assert [m.status for m in club.messages(bo)] == ["suppressed"]
    # the enrolment's reaction again (a replayed request): still one run, one mail
    with club.session() as session:
        journey = session.scalar(select(Journey).where(Journey.code == "valkommen"))
        assert journey is not None
        triggers.on_enrolment(session, anna, club.clock.now())
    club.run()
    assert len(club.runs("valkommen", anna)) == 1
    assert len(club.mails("anna@example.se")) == 1
    # engagement comes back as events naming the message (as text or a number, or junk)
    (sent,) = club.messages(anna)
    with club.session() as session:
        for n, (type_, named) in enumerate(
            [("email_opened", str(sent.id)), ("email_opened", "x'1"), ("email_clicked", sent.id)]
        ):
            record_event(
                session,
                data=EventCreate(
                    event_id=f"e-{n}",
                    type=type_,
                    member_id=anna,
                    properties={"message_id": named},
                ),
                now=club.clock.now(),
            )
    with club.session() as session:
        journey = session.scalar(select(Journey).where(Journey.code == "valkommen"))
        assert journey is not None
        figures = queries.figures(session, journey, now=club.clock.now())
    assert (figures.entered, figures.sent, figures.suppressed, figures.delivered) == (2, 1, 1, 1)
    assert (figures.opened, figures.clicked) == (1, 1)


def test_birthday_on_the_day_after_the_night_across_the_change_to_summer_time(
    club: Club,
) -> None:
    # 29 March 2026: the clocks go from 02:00 to 03:00 in Stockholm
    dst = club.member("dst@example.se", "email", birth_date=date(1990, 3, 29))
    other = club.member("other@example.se", "email", birth_date=date(1990, 3, 30))
    club.run()  # their welcome mails
    club.sink.messages.clear()
    club.at(local(date(2026, 3, 28), 23, 50))
    assert club.sweep().entered == 0  # nobody's birthday on the 28th
    club.at(local(date(2026, 3, 29), 0, 10))  # ten past midnight, still winter time
    assert club.sweep().entered == 1
    club.run()
    (run,) = club.runs("fodelsedag", dst)
    # mail waits out the quiet hours (22:00-07:00): until 07:00 summer time, 05:00 UTC
    assert run.state == "waiting"
    assert run.next_at == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    assert club.mails("dst@example.se") == []
    club.at(datetime(2026, 3, 29, 4, 59, tzinfo=UTC))
    club.run()
    assert club.mails("dst@example.se") == []
    club.at(datetime(2026, 3, 29, 5, 0, tzinfo=UTC))
    club.run()
    (mail,) = club.mails("dst@example.se")
    assert mail["Subject"].startswith("Grattis på födelsedagen")
    (run,) = club.runs("fodelsedag", dst)
    assert run.state == "done"
    assert [h["did"] for h in run.history] == ["coupon", "quiet_hours", "sent", "sent"]
    # the sweep again, the same day: nobody twice
    assert club.sweep(force=True).entered == 0
    club.run()
    assert len(club.mails("dst@example.se")) == 1
    assert club.runs("fodelsedag", other) == []


def test_a_birthday_on_29_february_is_celebrated_on_28_february_in_other_years(
    club: Club,
) -> None:
    leap = club.member("leap@example.se", "email", birth_date=date(2000, 2, 29))
    club.run()
    for day, fires in (
        (date(2027, 2, 27), False),
        (date(2027, 2, 28), True),  # 2027 has no 29 February
        (date(2027, 3, 1), False),
        (date(2028, 2, 28), False),
        (date(2028, 2, 29), True),
    ):
        club.at(local(day, 12))
        before = len(club.runs("fodelsedag", leap))
        club.sweep()
        club.run()
        assert len(club.runs("fodelsedag", leap)) - before == (1 if fires else 0), day
    runs = club.runs("fodelsedag", leap)
    assert [r.occasion for r in runs] == ["date:2027-02-28", "date:2028-02-29"]
    assert sum(s.startswith("Grattis") for s in club.subjects("leap@example.se")) == 2


def test_membership_anniversary_gives_points_through_the_ledger(club: Club) -> None:
    joined = club.member("jubel@example.se", "email", enrolled_at=local(date(2025, 3, 29), 10))
    club.run()
    club.at(local(date(2026, 3, 29), 12))
    club.sweep()
    club.run()
    (run,) = club.runs("medlemsjubileum", joined)
    assert run.state == "done"
    with club.session() as session:
        entry = session.scalar(
            select(JournalEntry).where(JournalEntry.key == f"journey:{run.id}:0")
        )
        assert entry is not None
        assert (entry.member_id, entry.kind) == (joined, "earn")
    assert "Ännu ett år tillsammans!" in club.subjects("jubel@example.se")


def test_we_miss_you_after_90_days_keeps_its_control_group_out(club: Club) -> None:
    # a club big enough for the journey's 10 % holdout (at least 1,000 members in it)
    club.crowd(10_000)
    assert club.holdout("vi-saknar-dig", 10) == 10
    treated: list[int] = []
    held: list[int] = []
    n = 0
    while not held or len(treated) < 2:
        n += 1
        member = club.member(f"saknad{n}@example.se", "email", "sms", phone=f"+4670123{n:04d}")
        if _held_out(club, member, "vi-saknar-dig"):
            held.append(member)
        else:
            treated.append(member)
    bought_again = treated[1]
    for member in (*treated, *held):
        _purchase(club, member, 30000, local(date(2026, 3, 2), 9), f"old-{member}")
    club.run()
    club.at(local(date(2026, 5, 30), 12))  # 89 days later
    club.sweep()
    assert club.runs("vi-saknar-dig") == []
    club.at(local(date(2026, 5, 31), 12))  # 90 days
    club.sweep()
    club.run()
    runs = {r.member_id: r for r in club.runs("vi-saknar-dig")}
    assert set(runs) == {*treated, *held}
    for member in held:
        assert (runs[member].state, runs[member].held_out) == ("held_out", True)
        assert not any("saknar" in m.body.lower() for m in club.messages(member))
    for member in treated:
        assert runs[member].state == "waiting"
    # one treated member comes back within the fortnight; the other gets the reminder
    _purchase(club, bought_again, 25000, local(date(2026, 6, 5), 12), "back")
    club.at(local(date(2026, 6, 14), 12, 1))
    club.run()
    phones = {m: runs[m] for m in treated}
    texts = sorted(t["text"] for t in club.texts())
    reminded = sorted(
        f"Kafferosteriet: din kod {runs[m].context['coupon_code']} gäller två veckor till."
        for m in phones
        if m != bought_again
    )
    assert texts == reminded
    with club.session() as session:
        journey = session.scalar(select(Journey).where(Journey.code == "vi-saknar-dig"))
        assert journey is not None
        figures = queries.figures(session, journey, now=club.clock.now())
    assert (figures.control.runs, figures.control.converted) == (len(held), 0)
    assert (figures.treated.converted, figures.revenue_minor) == (1, 25000)


def test_survey_reminder_only_for_those_who_did_not_answer(club: Club) -> None:
    quiet = club.member("tyst@example.se", "email")
    answered = club.member("svar@example.se", "email")
    _event(club, quiet, "survey_sent", "s-1")
    _event(club, answered, "survey_sent", "s-2")
    club.at(START + DAY)
    _event(club, answered, "survey_answered", "s-3")
    club.at(START + 3 * DAY)
    club.sweep()
    club.run()
    assert [r.member_id for r in club.runs("enkatpaminnelse")] == [quiet]
    assert "Hinner du svara på vår enkät?" in club.subjects("tyst@example.se")
    assert "Hinner du svara på vår enkät?" not in club.subjects("svar@example.se")


def test_points_expiry_warning_30_days_before(club: Club) -> None:
    saver = club.member("sparare@example.se", "email")
    _purchase(club, saver, 40000, START, "points")
    club.run()  # the welcome mail, and the inner circle's: a year before the warning
    with club.session() as session:
        lot = session.scalar(select(PointLot).where(PointLot.member_id == saver))
        assert lot is not None
        assert lot.expires_at is not None
        expires_on = local_day(lot.expires_at, ZONE)
    club.at(local(expires_on - timedelta(days=31), 12))
    club.sweep()
    assert club.runs("poang-forfaller") == []
    club.at(local(expires_on - timedelta(days=30), 12))
    club.sweep()
    club.run()
    assert len(club.runs("poang-forfaller", saver)) == 1
    (mail,) = [m for m in club.mails("sparare@example.se") if "förfaller" in m["Subject"]]
    # 400 for 400 kr, 100 for a first purchase, 50 for a basket of 400 kr: one lot
    assert "Du har 550 poäng som förfaller snart" in mail.get_content()
    club.at(local(expires_on - timedelta(days=29), 12))
    club.sweep()
    assert len(club.runs("poang-forfaller", saver)) == 1


def test_renewal_reminder_is_a_service_message_sent_without_marketing_consent(
    club: Club,
) -> None:
    payer = club.member("betalar@example.se")  # no marketing consent at all
    with club.session() as session:
        memberships.create_plan(
            session,
            data=PlanCreate(code="plus", name="Plus", price_minor=29900, interval="year"),
            now=club.clock.now(),
        )
        _, membership, _ = memberships.record_payment(
            session,
            member_id=payer,
            data=PaymentCreate(plan="plus", reference="p-1", amount_minor=29900, currency="SEK"),
            now=club.clock.now(),
        )
        renews = membership.renews_at
    renews_on = local_day(renews, ZONE)
    club.at(local(renews_on - timedelta(days=15), 12))
    club.sweep()
    assert club.runs("fornyelse") == []
    club.at(local(renews_on - timedelta(days=14), 12))
    club.sweep()
    club.run()
    assert [r.member_id for r in club.runs("fornyelse")] == [payer]
    assert "Ditt medlemskap förnyas om två veckor" in club.subjects("betalar@example.se")


def test_inner_circle_offer_when_a_member_enters_the_top_ten_percent(club: Club) -> None:
    n, big = 0, 0
    while not big:  # a member outside the journey's holdout
        n += 1
        candidate = club.member(f"stor{n}@example.se", "email", "push")
        if not _held_out(club, candidate, "inre-kretsen"):
            big = candidate
    _purchase(club, big, 900000, START, "big")
    club.run()
    (run,) = club.runs("inre-kretsen", big)
    assert run.state == "done"
    assert run.cause.startswith("event:")
    assert "Bara för dig, Alva" in club.subjects(f"stor{n}@example.se")
    assert [p["member_id"] for p in club.pushes()] == [big]


def test_tier_up_congratulation_but_not_for_the_first_tier(club: Club) -> None:
    climber = club.member("klattrare@example.se", "email")
    club.run()
    assert club.runs("ny-niva", climber) == []  # brons at enrolment is no change
    _purchase(club, climber, 350000, START, "silver")  # 3 500 kr: silver
    club.run()
    (run,) = club.runs("ny-niva", climber)
    assert run.state == "done"
    assert "Grattis, du är nu silver!" in club.subjects("klattrare@example.se")


def test_the_weekly_cap_on_marketing_mail(club: Club) -> None:
    busy = club.member("upptagen@example.se", "email", first_name="Busy")
    club.run()  # the welcome mail: one
    with club.session() as session:
        send(
            session,
            [Draft(busy, "email", f"Nyhetsbrev {n}", f"news-{n}", subject="Nytt") for n in (1, 2)],
            now=club.clock.now(),
        )
    club.run()  # three marketing mails this week: the cap
    _purchase(club, busy, 350000, START, "silver")  # the tier-up journey's mail is capped
    club.run()
    (run,) = club.runs("ny-niva", busy)
    assert [h["did"] for h in run.history] == ["capped", "sent"]  # the inbox is not capped
    assert "Grattis, du är nu silver!" not in club.subjects("upptagen@example.se")
    # a week later the cap has room again: the next tier's congratulation goes out
    club.at(START + 8 * DAY)
    _purchase(club, busy, 500000, START + 8 * DAY, "guld")
    club.run()
    assert "Grattis, du är nu guld!" in club.subjects("upptagen@example.se")
