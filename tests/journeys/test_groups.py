"""The journeys' control groups in a club: the global control group gets no marketing from
any journey but its transactional messages, each run records where it was placed, and
members who share an email are placed together — on SQLite and PostgreSQL, with the worker
and a real SMTP server."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from lojal.journeys import queries
from lojal.journeys import service as journeys
from lojal.journeys.control import ControlGroupInvalid, Placement
from lojal.journeys.entry import definition_of
from lojal.journeys.schemas import ControlWrite
from lojal.journeys.steps import placement_of
from lojal.members.models import MemberIdentity
from tests.journeys.club import START, Club


def _placed(club: Club, member_id: int, journey: str) -> Placement:
    with club.session() as session:
        found = queries.get(session, journey)
        return placement_of(session, found, definition_of(found), member_id, club.clock.now())


def test_the_global_control_group_gets_no_marketing_but_its_service_messages(club: Club) -> None:
    with club.session() as session, pytest.raises(ControlGroupInvalid) as refused:
        journeys.set_control(session, data=ControlWrite(percent=10), now=club.clock.now())
    assert refused.value.field == "percent"
    club.crowd(10_000)  # 10 % of 10,000 is the 1,000 a control group needs
    with club.session() as session:
        done = journeys.set_control(session, data=ControlWrite(percent=10), now=club.clock.now())
    assert (done.percent, done.drawn_on) == (10, START.date())
    kept: list[int] = []
    treated: list[int] = []
    address: dict[int, str] = {}
    while not kept or not treated:
        email = f"grupp{len(address)}@example.se"
        member = club.member(email, "email", first_name="Greta")
        address[member] = email
        (kept if _placed(club, member, "valkommen").held_out else treated).append(member)
    club.run()
    for member in kept:
        (run,) = club.runs("valkommen", member)
        assert (run.placement, run.held_out, run.state) == ("global_control", True, "held_out")
        assert "coupon_code" not in run.context  # nothing of the journey: not its code either
        assert club.messages(member) == []
        assert club.mails(address[member]) == []
        # a service message still reaches them: the renewal reminder is exempt
        assert _placed(club, member, "fornyelse") is Placement.EXEMPT
    for member in treated:
        (run,) = club.runs("valkommen", member)
        assert (run.placement, run.state) == ("treated", "done")
        assert [m.status for m in club.messages(member)] == ["sent"]
        assert len(club.mails(address[member])) == 1
    with club.session() as session:
        figures = queries.figures(session, queries.get(session, "valkommen"), now=club.clock.now())
    assert (figures.held_out, figures.treated.runs, figures.control.runs) == (
        len(kept),
        len(treated),
        len(kept),
    )


def test_members_who_share_an_email_are_never_split(club: Club) -> None:
    """An address that moves from one member to another takes its household's place along:
    the member who has it now is placed as the one who had it was, whatever their ids."""
    club.crowd(20_000)
    assert club.holdout("vi-saknar-dig", 10) == 10
    with club.session() as session:
        journeys.set_control(session, data=ControlWrite(percent=5), now=club.clock.now())
    placements: set[Placement] = set()
    for n in range(150):
        address = f"hushall{n}@example.se"
        first = club.member(address)
        before = _placed(club, first, "vi-saknar-dig")
        with club.session() as session:
            session.execute(delete(MemberIdentity).where(MemberIdentity.member_id == first))
        second = club.member(address.upper())  # the same address, as another member gave it
        with club.session() as session:
            stored = session.scalar(
                select(MemberIdentity.value).where(MemberIdentity.member_id == second)
            )
        assert stored == address
        assert _placed(club, second, "vi-saknar-dig") is before, address
        placements.add(before)
    # both groups and the treated were met, so the check above could have failed
    assert placements == {Placement.TREATED, Placement.HOLDOUT, Placement.GLOBAL_CONTROL}


def test_a_holdout_too_large_for_the_audience_is_refused_when_saved(club: Club) -> None:
    with pytest.raises(ControlGroupInvalid) as refused:
        club.holdout("vi-saknar-dig", 10)
    assert refused.value.field == "holdout_percent"
    assert "too small for a control group" in refused.value.detail
    club.crowd(10_000)
    with pytest.raises(ControlGroupInvalid) as refused:
        club.holdout("vi-saknar-dig", 5)  # 5 % of 10,000 is 500
    assert "use at least 10 %" in refused.value.detail
    with pytest.raises(ControlGroupInvalid) as refused:
        club.holdout("vi-saknar-dig", 20)
    assert "at most 10 %" in refused.value.detail
    assert club.holdout("vi-saknar-dig", 10) == 10
    assert club.holdout("vi-saknar-dig", 0) == 0
