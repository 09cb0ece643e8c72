"""The fraud sweep (set-based, run by the worker's schedule) finds referral rings and clusters,
raises each alert once however often it runs; ``lojal fraud`` lists and acknowledges alerts;
erasure empties an alert's details and the enrolment's address — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from lojal.cli import app
from lojal.clock import FixedClock, SystemClock
from lojal.db.session import make_session_factory, transaction
from lojal.fraud import tasks
from lojal.fraud.models import FraudAlert
from lojal.fraud.schemas import FraudConfig
from lojal.members.models import Member
from lojal.privacy import erasure
from lojal.referrals.models import Referral
from lojal.worker.schedule import DEFAULT
from tests.conftest import START, apply_program
from tests.factories import make_member


def _refer(session: Session, advocate: int, referee: int, clock: FixedClock) -> None:
    session.add(
        Referral(
            advocate_id=advocate,
            referee_id=referee,
            code="TEST",
            source="claim",
            status="pending",
            referred_at=clock.now(),
            updated_at=clock.now(),
        )
    )
    session.flush()


def _kinds(session: Session) -> list[tuple[str, int | None, dict[str, object]]]:
    return [
        (a.kind, a.member_id, a.details)
        for a in session.scalars(select(FraudAlert).order_by(FraudAlert.id))
    ]


def test_referral_rings_of_two_and_three_are_found_once(
    session: Session, clock: FixedClock, program: object
) -> None:
    a, b, c, d, e = (make_member(session, clock).id for _ in range(5))
    _refer(session, a, b, clock)
    _refer(session, b, a, clock)  # a ring of two
    _refer(session, c, d, clock)
    _refer(session, d, e, clock)
    _refer(session, e, c, clock)  # a ring of three
    fraud = FraudConfig()
    assert tasks.sweep(session, fraud=fraud, now=clock.now()) == 2
    assert tasks.sweep(session, fraud=fraud, now=clock.now()) == 2  # seen again, raised once
    found = _kinds(session)
    assert [(kind, member) for kind, member, _ in found] == [
        ("referral_ring", a),
        ("referral_ring", c),
    ]
    assert [details["members"] for _, _, details in found] == [[a, b], [c, d, e]]
    session.rollback()


def test_a_chain_of_referrals_is_no_ring(
    session: Session, clock: FixedClock, program: object
) -> None:
    a, b, c = (make_member(session, clock).id for _ in range(3))
    _refer(session, a, b, clock)
    _refer(session, b, c, clock)
    assert tasks.sweep(session, fraud=FraudConfig(), now=clock.now()) == 0
    session.rollback()


def test_referees_enrolled_from_one_address_are_a_cluster(
    session: Session, clock: FixedClock, program: object
) -> None:
    advocate = make_member(session, clock).id
    referees = [make_member(session, clock).id for _ in range(4)]
    other = make_member(session, clock).id
    session.execute(
        update(Member).where(Member.id.in_(referees[:3])).values(enrolment_address="10.0.0.7")
    )
    session.execute(
        update(Member).where(Member.id == referees[3]).values(enrolment_address="10.0.0.8")
    )
    for referee in referees:
        _refer(session, advocate, referee, clock)
    _refer(session, other, make_member(session, clock).id, clock)
    # the factories' addresses are all @example.se: a provider's here
    alerts = {"referral_cluster": 3, "common_email_domains": ["example.se"]}
    fraud = FraudConfig.model_validate({"alerts": alerts})
    assert tasks.sweep(session, fraud=fraud, now=clock.now()) == 1
    [(kind, member, details)] = _kinds(session)
    assert (kind, member) == ("referral_cluster", advocate)
    assert details == {"address": "10.0.0.7", "referees": 3, "threshold": 3}
    # off: no alert
    off = FraudConfig.model_validate({"alerts": {"referral_cluster": None}})
    assert tasks.clusters(session, off, clock.now() - timedelta(days=1)) == []
    session.rollback()


def test_referees_sharing_an_own_email_domain_are_a_cluster(
    session: Session, clock: FixedClock, program: object
) -> None:
    advocate = make_member(session, clock).id
    for n in range(3):
        referee = make_member(session, clock, email=f"friend{n}@my-own-shop.se").id
        _refer(session, advocate, referee, clock)
    for n in range(3):  # a common provider's addresses: no cluster
        referee = make_member(session, clock, email=f"pal{n}.{advocate}@gmail.com").id
        _refer(session, advocate, referee, clock)
    fraud = FraudConfig.model_validate({"alerts": {"referral_cluster": 3}})
    assert tasks.sweep(session, fraud=fraud, now=clock.now()) == 1
    [(kind, member, details)] = _kinds(session)
    assert (kind, member) == ("referral_cluster", advocate)
    assert details == {"email_domain": "my-own-shop.se", "referees": 3, "threshold": 3}
    session.rollback()


def test_erasure_empties_the_alerts_details_and_the_enrolment_address(
    session: Session, clock: FixedClock, program: object
) -> None:
    a, b = (make_member(session, clock).id for _ in range(2))
    session.execute(update(Member).where(Member.id == b).values(enrolment_address="10.1.1.1"))
    _refer(session, a, b, clock)
    _refer(session, b, a, clock)
    tasks.sweep(session, fraud=FraudConfig(), now=clock.now())
    session.add(
        FraudAlert(
            key="x",
            kind="enrolments_per_address",
            member_id=b,
            details={"address": "10.1.1.1"},
            created_at=clock.now(),
        )
    )
    session.flush()
    done = erasure.erase(session, member_id=b, now=clock.now())
    assert done.removed["fraud_alerts"] == 1
    session.expire_all()
    details = session.scalars(select(FraudAlert.details).where(FraudAlert.member_id == b)).all()
    assert details == [{"erased": True}]
    member = session.get(Member, b)
    assert member is not None
    assert member.enrolment_address is None
    session.rollback()


def test_the_worker_sweeps_every_quarter_hour() -> None:
    [entry] = [e for e in DEFAULT if e.name == "fraud-sweep"]
    assert entry.every == timedelta(minutes=15)


def test_fraud_alerts_from_the_command_line(
    backend: str, fresh_engine: Engine, tmp_path: Path
) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    factory = make_session_factory(fresh_engine)
    # the command sweeps the referrals of the last days before the real now
    clock = FixedClock(SystemClock().now())
    with transaction(factory) as session:
        apply_program(session, START)
        a, b = (make_member(session, clock).id for _ in range(2))
        _refer(session, a, b, clock)
        _refer(session, b, a, clock)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, "--database-url", url], terminal_width=200)
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.output

    assert "0 alerts" in run("fraud", "alerts")
    assert "1 patterns found" in run("fraud", "sweep")
    listed = run("fraud", "alerts")
    assert "referral_ring" in listed
    assert "1 alerts" in listed
    with transaction(factory) as session:
        alert_id = session.scalar(select(func.max(FraudAlert.id)))
    assert alert_id is not None
    said = run("fraud", "acknowledge", str(alert_id), "--note", "siblings")
    assert f"alert {alert_id} acknowledged by cli" in said
    assert "0 alerts" in run("fraud", "alerts")
    assert "siblings" in run("fraud", "alerts", "--all")
    # releasing points of a ring: refused, naming the option's field
    run("fraud", "acknowledge", str(alert_id), "--release", code=1)
    run("fraud", "acknowledge", "987654", code=1)
