"""The dispatcher (``lojal.reactions``) and the facts (``lojal.activities.events``): the facts
depend on nothing, the features that react never reach the dispatcher, and a fact a reaction
causes is passed on by the dispatcher — at once, and not for ever."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.activities.events import EventRecorded, MemberMerged
from lojal.challenges import progress as challenge_progress
from lojal.clock import FixedClock
from lojal.journeys import triggers as journey_triggers
from lojal.members import merging
from lojal.segments import live as segments_live
from lojal.tiers import upgrades as tier_upgrades
from lojal.webhooks import events as webhook_events
from tests.challenges.helpers import completions, define
from tests.factories import make_member, make_purchase
from tests.tiers.club import GOLD, amount, apply_tiers

SRC = Path(__file__).resolve().parents[1] / "src"


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Every lojal module and the lojal modules it imports — at the top, inside functions and
    for type checking alike (each is an arrow of the graph)."""
    graph: dict[str, set[str]] = {}
    for path in (SRC / "lojal").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = _module(path)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("lojal"))
            elif isinstance(node, ast.ImportFrom) and node.level == 0:  # lojal has no relative ones
                base = node.module or ""
                if base.startswith("lojal"):
                    found.add(base)
                    found.update(f"{base}.{a.name}" for a in node.names)
        graph[name] = found
    return {name: {m for m in found if m in graph and m != name} for name, found in graph.items()}


def _reach(graph: dict[str, set[str]], start: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, ()))
    return seen


def test_the_fact_values_import_nothing_of_lojal() -> None:
    assert _imports()["lojal.activities.events"] == set()


def test_nothing_the_dispatcher_imports_leads_back_to_it() -> None:
    graph = _imports()
    below = _reach(graph, graph["lojal.reactions"])
    assert "lojal.reactions" not in below
    # the features that react are among what it imports, and none of them imports it
    for reactor in (
        "lojal.tiers.upgrades",
        "lojal.challenges.progress",
        "lojal.coupons.redemptions",
        "lojal.segments.live",
    ):
        assert reactor in below


def test_members_reach_neither_activities_nor_the_dispatcher() -> None:
    below = _reach(_imports(), {"lojal.members.service"})
    assert "lojal.activities.service" not in below
    assert "lojal.reactions" not in below


def _event(event_id: int, type_: str = "survey_answered") -> EventRecorded:
    return EventRecorded(event_id, 1, type_, datetime(2026, 3, 2), {})


def test_a_caused_fact_is_passed_on_before_the_next_feature_reacts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def tiers_react(
        _: Session, events: Sequence[EventRecorded], __: datetime
    ) -> list[EventRecorded]:
        seen.extend(f"tiers:{e.type}" for e in events)
        return [_event(2, "tier_changed")] if events[0].type != "tier_changed" else []

    def challenges_react(_: Session, events: Sequence[EventRecorded], __: datetime) -> None:
        seen.extend(f"challenges:{e.type}" for e in events)

    monkeypatch.setattr(tier_upgrades, "on_events", tiers_react)
    monkeypatch.setattr(challenge_progress, "on_events", challenges_react)
    # the webhooks' reaction reads the database; this session has none
    monkeypatch.setattr(webhook_events, "on_events", lambda *_: None)
    monkeypatch.setattr(segments_live, "on_events", lambda *_: [])  # no database here
    monkeypatch.setattr(journey_triggers, "on_events", lambda *_: None)  # nor here
    reactions.after_events(Session(), [_event(1)], datetime(2026, 3, 2))
    assert seen == [
        "tiers:survey_answered",
        "tiers:tier_changed",
        "challenges:tier_changed",
        "challenges:survey_answered",
    ]


def test_reactions_that_never_stop_causing_facts_are_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def again(_: Session, events: Sequence[EventRecorded], __: datetime) -> list[EventRecorded]:
        return list(events)

    monkeypatch.setattr(tier_upgrades, "on_events", again)
    monkeypatch.setattr(challenge_progress, "on_events", lambda *_: None)
    with pytest.raises(reactions.EndlessReactions):
        reactions.after_events(Session(), [_event(1)], datetime(2026, 3, 2))


def test_a_tier_change_caused_by_a_purchase_reaches_the_challenges(
    session: Session, clock: FixedClock
) -> None:
    apply_tiers(session, clock.now())
    challenge = define(
        session,
        clock.now(),
        activity="event",
        event_type="tier_changed",
        goal={"kind": "count", "target": 2},
    )
    member = make_member(session, clock)  # into Bronze, the tier everyone has: one change
    assert completions(session, member.id, challenge.id) == 0
    make_purchase(session, clock, member_id=member.id, lines=[amount(GOLD)])
    assert completions(session, member.id, challenge.id) == 1


def test_a_merge_says_what_it_did_as_a_fact(session: Session, clock: FixedClock) -> None:
    apply_tiers(session, clock.now())
    kept, gone = make_member(session, clock), make_member(session, clock)
    merged = merging.merge(session, into_id=kept.id, from_id=gone.id, now=clock.now())
    assert merged.fact == MemberMerged(
        member_id=kept.id, from_member_id=gone.id, occurred_at=clock.now(), moved=merged.moved
    )
    assert merged.fact.event_id == f"member_merged:{gone.id}"
