"""The stored figures on SQLite and PostgreSQL, on a hand-made club whose right answers are
known: RFM worked out by hand, the stored CLV equal to the models' output on the same history,
segments over the figures, the refit as a worker job."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lojal.clock import FixedClock
from lojal.insight import queries, service, tasks
from lojal.insight.bgnbd import fit_bgnbd
from lojal.insight.clv import member_values
from lojal.insight.errors import InvalidPeriod, MemberNotScored, NotEnoughHistory, NotFitted
from lojal.insight.gammagamma import fit_gammagamma
from lojal.insight.history import purchase_history
from lojal.insight.models import InsightFit, MemberScore
from lojal.insight.schemas import RefitRequest
from lojal.insight.summary import summarise
from lojal.program.schemas import ProgramConfig
from lojal.segments import queries as segment_queries
from lojal.segments import service as segments
from lojal.segments.schemas import SegmentCreate
from lojal.worker import registry
from lojal.worker.kinds import Context
from lojal.worker.models import Job
from lojal.worker.runner import Worker
from lojal.worker.schedule import Schedule
from tests.factories import make_member
from tests.insight.club import AS_OF, buy, make_club, noon
from tests.segments.helpers import holding

STOCKHOLM = ZoneInfo("Europe/Stockholm")

# Worked out by hand (tests/insight/club.py). With n = 10 members a value that k members are
# strictly below scores 1 + floor(5k/10):
# R — last purchase, oldest first: 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 → k = 0..9
R = {10: 1, 9: 1, 8: 2, 7: 2, 6: 3, 5: 3, 4: 4, 3: 4, 2: 5, 1: 5}
# F — purchase days 8, 6, 1, 4, 2, 7, 3, 5, 2, 1; sorted 1 1 2 2 3 4 5 6 7 8: a value of 1
# has k = 0 → 1, 2 → k = 2 → 2, 3 → 4 → 3, 4 → 5 → 3, 5 → 6 → 4, 6 → 7 → 4, 7 → 8 → 5, 8 → 5
F = {1: 5, 2: 4, 3: 1, 4: 3, 5: 2, 6: 5, 7: 3, 8: 4, 9: 2, 10: 1}
# M — revenue 1k (10) 5k (3) 8k (7) 12k (5) 20k (9) 30k (6) 40k (2) 55k (8) 70k (4) 90k (1)
M = {10: 1, 3: 1, 7: 2, 5: 2, 9: 3, 6: 3, 2: 4, 8: 4, 4: 5, 1: 5}
# FM = (F + M + 1) // 2, and the group of (R, FM) from the map of lojal.insight.rfm
FM = {1: 5, 2: 4, 3: 1, 4: 4, 5: 2, 6: 4, 7: 3, 8: 4, 9: 3, 10: 1}
GROUP = {
    1: "champions",  # (5, 5)
    2: "champions",  # (5, 4)
    3: "promising",  # (4, 1)
    4: "loyal_customers",  # (4, 4)
    5: "need_attention",  # (3, 2)
    6: "loyal_customers",  # (3, 4)
    7: "at_risk",  # (2, 3)
    8: "at_risk",  # (2, 4)
    9: "at_risk",  # (1, 3)
    10: "lost",  # (1, 1)
}


def _stored(session: Session) -> dict[int, MemberScore]:
    return {s.member_id: s for s in session.scalars(select(MemberScore))}


def test_rfm_scores_and_groups_are_the_ones_worked_out_by_hand(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    ids = make_club(session, clock)
    done = tasks.refit(session, now=clock.now(), request=RefitRequest(as_of=AS_OF))
    assert done.fit.members == 10
    stored = _stored(session)
    for key, member_id in ids.items():
        s = stored[member_id]
        assert (s.rfm_r, s.rfm_f, s.rfm_m, s.rfm_fm, s.rfm_group) == (
            R[key],
            F[key],
            M[key],
            FM[key],
            GROUP[key],
        ), key
    assert stored[ids[1]].transactions == 8  # two receipts on one day are one purchase day
    assert stored[ids[1]].revenue_minor == 90_000
    assert stored[ids[10]].revenue_minor == 1_000  # the purchase after AS_OF is not counted
    assert stored[ids[10]].last_purchase_on == AS_OF - timedelta(days=120)

    grid = queries.rfm(session)
    cells = {(c.r, c.fm): (c.members, c.revenue) for c in grid.grid}
    assert cells[(2, 4)] == (1, 550.0)  # member 8: SEK 550
    assert cells[(5, 4)] == (1, 400.0)
    assert sum(c.members for c in grid.grid) == 10
    groups = {g.group: (g.members, g.revenue) for g in grid.groups}
    assert groups["at_risk"] == (3, 80.0 + 550.0 + 200.0)
    assert groups["champions"] == (2, 1300.0)
    assert grid.revenue == 3310.0
    assert grid.currency == "SEK"


def test_the_stored_clv_is_the_models_output_for_the_same_history(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    ids = make_club(session, clock)
    tasks.refit(
        session,
        now=clock.now(),
        request=RefitRequest(as_of=AS_OF, months=6, monthly_discount=0.02),
    )
    # the models on their own, on the history as it was up to AS_OF
    summary = summarise(
        purchase_history(session, zone=STOCKHOLM, until=AS_OF), calibration_end=AS_OF
    )
    assert sorted(summary.member_id.tolist()) == sorted(ids.values())
    bg = fit_bgnbd(summary.x, summary.t_x, summary.T).model
    gg = fit_gammagamma(summary.x, summary.monetary).model
    values = member_values(summary, bg, gg, months=6, monthly_discount=0.02)
    stored = _stored(session)
    for i, member_id in enumerate(summary.member_id.tolist()):
        s = stored[member_id]
        assert s.clv_minor == round(values.clv[i])
        assert s.simple_clv_minor == round(values.simple_clv[i])
        assert s.expected_spend_minor == round(values.expected_spend[i])
        assert s.p_alive == pytest.approx(values.p_alive[i], rel=1e-9)
        assert s.churn_risk == pytest.approx(1 - values.p_alive[i], rel=1e-9, abs=1e-12)
        assert s.expected_purchases == pytest.approx(values.expected_purchases[i], rel=1e-9)
    fit = session.scalars(select(InsightFit)).one()
    assert (fit.as_of, fit.model, fit.months, fit.monthly_discount) == (AS_OF, "bgnbd", 6, 0.02)
    assert fit.params["purchases"]["r"] == pytest.approx(bg.r, rel=1e-9)
    assert fit.params["spend"]["q"] == pytest.approx(gg.q, rel=1e-9)
    assert fit.currency == "SEK"
    # one member's figures through the reads, in kronor
    one = queries.member_insight(session, ids[4])
    assert one.clv == round(stored[ids[4]].clv_minor / 100, 2)
    assert one.revenue == 700.0
    assert (one.group, one.as_of) == ("loyal_customers", AS_OF)


def test_segments_read_the_stored_figures_and_a_refit_moves_them(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    ids = make_club(session, clock)
    by_clv = segments.create(
        session,
        data=SegmentCreate.model_validate(
            {
                "code": "valuable",
                "name": "Valuable",
                "definition": {"field": "member.clv_minor", "op": "gt", "value": 0},
            }
        ),
        now=clock.now(),
    )
    assert by_clv.reads == ["insight"]
    assert segment_queries.current_ids(session, by_clv.id) == []  # nothing stored yet
    tasks.refit(session, now=clock.now(), request=RefitRequest(as_of=AS_OF))
    stored = _stored(session)
    # every member is worth something: the refit brought the saved segment up to date
    assert segment_queries.current_ids(session, by_clv.id) == sorted(ids.values())

    clvs = sorted(s.clv_minor for s in stored.values())
    cut = clvs[-4]  # the fourth highest: "clv > cut" is the three above it
    expected = {m for m, s in stored.items() if s.clv_minor > cut}
    assert len(expected) == 3
    assert (
        holding(session, {"field": "member.clv_minor", "op": "gt", "value": cut}, now=clock.now())
        == expected
    )
    at_risk = {"field": "member.rfm.group", "op": "eq", "value": "at_risk"}
    assert holding(session, at_risk, now=clock.now()) == {ids[7], ids[8], ids[9]}
    recent_and_frequent = {
        "all": [
            {"field": "member.rfm.r", "op": "gte", "value": 4},
            {"field": "member.rfm.f", "op": "in", "value": [4, 5]},
        ]
    }
    assert holding(session, recent_and_frequent, now=clock.now()) == {ids[1], ids[2]}
    risky = {m for m, s in stored.items() if s.churn_risk > 0.1}
    assert (
        holding(session, {"field": "member.churn_risk", "op": "gt", "value": 0.1}, now=clock.now())
        == risky
    )
    alive = {"field": "member.p_alive", "op": "gte", "value": 0.9}
    assert holding(session, alive, now=clock.now()) == {
        m for m, s in stored.items() if s.p_alive >= 0.9
    }
    # a member with no figures satisfies no comparison, not even "not equal"
    newcomer = make_member(session, clock)
    assert newcomer.id not in holding(
        session, {"field": "member.rfm.group", "op": "ne", "value": "lost"}, now=clock.now()
    )
    assert newcomer.id in holding(
        session, {"not": {"field": "member.clv_minor", "op": "gte", "value": 0}}, now=clock.now()
    )

    # a later refit, with member 10 back after AS_OF: their figures and segments move with it
    before = stored[ids[10]].rfm_r
    tasks.refit(session, now=clock.now(), request=RefitRequest(as_of=AS_OF + timedelta(days=1)))
    after = _stored(session)[ids[10]]
    assert (before, after.rfm_r, after.revenue_minor) == (1, 5, 100_000)
    assert len(list(session.scalars(select(InsightFit)))) == 2


def test_reads_before_any_refit_and_a_club_without_history_say_why(
    session: Session, clock: FixedClock, program: ProgramConfig
) -> None:
    with pytest.raises(NotFitted):
        queries.rfm(session)
    one = make_member(session, clock)
    buy(session, one.id, noon(AS_OF), 10_000)
    session.flush()
    with pytest.raises(NotEnoughHistory, match="bought more than once"):
        service.refit(session, now=clock.now())
    with pytest.raises(InvalidPeriod) as refused:
        service.refit(session, now=clock.now(), request=RefitRequest(as_of=AS_OF + timedelta(9)))
    assert refused.value.field == "as_of"
    make_club(session, clock)
    service.refit(session, now=clock.now())
    with pytest.raises(MemberNotScored):
        queries.member_insight(session, make_member(session, clock).id)


def test_the_worker_runs_the_queued_refit_and_the_schedule_queues_one_a_day(
    session_factory: sessionmaker[Session],
    session: Session,
    clock: FixedClock,
    program: ProgramConfig,
) -> None:
    ids = make_club(session, clock)
    queued = tasks.enqueue(session, now=clock.now(), request=RefitRequest(as_of=AS_OF))
    session.commit()
    ctx = Context(factory=session_factory, clock=clock)
    worker = Worker(session_factory, clock, registry.handlers(ctx))
    assert worker.turn().done == 1
    session.expire_all()
    job = session.get(Job, queued)
    assert job is not None
    assert job.state == "done"
    assert job.last_error is not None
    assert job.last_error.startswith("10 members scored")
    assert set(_stored(session)) == set(ids.values())

    # the schedule's daily entry queues the day's refit once, and the worker runs it
    entry = Schedule().entries["insight-refit"]
    assert entry.run(ctx, clock.now()) == "refit queued"
    assert entry.run(ctx, clock.now()) == "refit already queued"
    assert worker.turn().done == 1
    session.expire_all()
    fits = list(session.scalars(select(InsightFit).order_by(InsightFit.id)))
    assert [f.as_of for f in fits] == [AS_OF, AS_OF]  # yesterday, as the clock sees it
