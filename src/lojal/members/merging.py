"""Merging two members into one: the one explicit list of what every feature does then.

A merge makes member ``source`` part of member ``target`` (the one that carries on): staff
found that two cards, or a card and a web account, are one person. Every feature that keeps
rows per member says what a merge does to them, in its own ``merging.py``:

* ``TABLES``: each of the feature's member-scoped tables (a column that refers to
  ``members.id``) and what the merge does to it — ``moved`` (the rows become the target's),
  ``combined`` (the two members' rows become one row of the target's, where the table holds
  one row per member) or ``kept`` (history that stays with the merged member, read through
  the merge);
* ``merge_members(session, *, source_id, target_id, now) -> dict``: does it, in the merge's
  transaction, and says what it did (that goes into the ``member_merged`` event).

``STEPS`` below runs them in order — the order matters: activity and points move before the
features that read them (a tier counts the purchases, a referral's clawback takes points from
the target's lots). ``tests/members/test_merge_registry.py`` fails when a table refers to
members and no step names it, so a new feature cannot forget to say what a merge does.

The merged member stays as a pointer (``status = 'merged'``, ``merged_into_id``), so its old
card, codes and links still find the member that carries on. Pointers are kept one hop long:
members merged into ``source`` earlier now point at ``target`` directly.

This module imports the features and the dispatcher (``lojal.reactions``): what a step
records (a tier change) and the ``member_merged`` event go to the features that react, in the
merge's transaction. No feature imports it (``members.service`` neither), so the list creates
no import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from lojal import reactions
from lojal.access import merging as access
from lojal.activities import merging as activities
from lojal.activities.events import MEMBER_MERGED, EventRecorded, MemberMerged
from lojal.activities.system import SystemEvent, record_events
from lojal.badges import merging as badges
from lojal.challenges import merging as challenges
from lojal.coupons import merging as coupons
from lojal.fraud import merging as fraud
from lojal.insight import merging as insight
from lojal.journeys import merging as journeys
from lojal.ledger import merging as ledger
from lojal.members import queries
from lojal.members import service as members
from lojal.members.errors import CannotMerge
from lojal.members.models import Consent, Member, MemberIdentity
from lojal.memberships import merging as memberships
from lojal.messaging import merging as messaging
from lojal.pages import merging as pages
from lojal.referrals import merging as referrals
from lojal.rewards import merging as rewards
from lojal.rules import merging as rules
from lojal.segments import merging as segments
from lojal.tiers import merging as tiers

Merger = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    merge: Merger
    tables: Mapping[str, str]


# What the members feature itself does: identities move (they are unique in the club, so
# they can be the target's at once); consents: the target keeps its own choice per channel,
# and a channel it never answered takes the merged member's latest choice (the merged
# member's rows stay as the record of what was asked when).
TABLES = {"member_identities": "moved", "consents": "combined"}


def _merge_members(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    identities = len(
        session.scalars(
            update(MemberIdentity)
            .where(MemberIdentity.member_id == source_id)
            .values(member_id=target_id)
            .returning(MemberIdentity.id)
        ).all()
    )
    mine = queries.current_consents(session, target_id)
    taken: list[str] = []
    for channel, consent in queries.current_consents(session, source_id).items():
        if channel not in mine:
            session.add(
                Consent(
                    member_id=target_id,
                    channel=channel,
                    granted=consent.granted,
                    source=f"merge:{source_id}",
                    recorded_at=now,
                )
            )
            taken.append(channel)
    session.flush()
    return {"identities": identities, "consents": taken}


def _merge_tiers(
    session: Session, *, source_id: int, target_id: int, now: datetime
) -> dict[str, Any]:
    def dispatch(events: Sequence[EventRecorded]) -> None:
        reactions.after_events(session, events, now)

    return tiers.merge_members(
        session, source_id=source_id, target_id=target_id, now=now, dispatch=dispatch
    )


STEPS: tuple[Step, ...] = (
    Step("members", _merge_members, TABLES),
    Step("activity", activities.merge_members, activities.TABLES),
    Step("points", ledger.merge_members, ledger.TABLES),
    Step("rules", rules.merge_members, rules.TABLES),
    Step("tier", _merge_tiers, tiers.TABLES),
    Step("membership", memberships.merge_members, memberships.TABLES),
    Step("referrals", referrals.merge_members, referrals.TABLES),
    Step("challenges", challenges.merge_members, challenges.TABLES),
    Step("badges", badges.merge_members, badges.TABLES),
    Step("coupons", coupons.merge_members, coupons.TABLES),
    Step("rewards", rewards.merge_members, rewards.TABLES),
    Step("portal", pages.merge_members, pages.TABLES),
    Step("app sessions", access.merge_members, access.TABLES),
    Step("messaging", messaging.merge_members, messaging.TABLES),
    Step("segments", segments.merge_members, segments.TABLES),
    Step("insight", insight.merge_members, insight.TABLES),
    Step("journeys", journeys.merge_members, journeys.TABLES),
    Step("fraud alerts", fraud.merge_members, fraud.TABLES),
)


def covered_tables() -> dict[str, str]:
    """Every member-scoped table a merge handles, and what it does to it."""
    out: dict[str, str] = {}
    for step in STEPS:
        for table, what in step.tables.items():
            if table in out:
                raise RuntimeError(f"{table} is named by two merge steps")
            out[table] = what
    return out


@dataclass(frozen=True, slots=True)
class Merged:
    member: Member
    moved: dict[str, Mapping[str, Any]]
    fact: MemberMerged


def merge(session: Session, *, into_id: int, from_id: int, now: datetime) -> Merged:
    """Make two members one: everything of ``from_id`` becomes ``into_id``'s, by the rules
    of each feature (``STEPS``); ``from_id`` remains as a pointer so that its old identifiers
    still find the member. A ``member_merged`` event on ``into_id`` records what moved."""
    if into_id == from_id:
        raise CannotMerge("a member cannot be merged with itself")
    into = members.get_active(session, into_id)
    source = members.get(session, from_id)
    if source.id == into.id:  # ``into_id`` was merged into ``from_id`` earlier
        raise CannotMerge(f"member {into_id} is already part of member {from_id}")
    if source.status != "active":
        raise CannotMerge(f"member {from_id} is {source.status} and cannot be merged")
    for key, value in source.attributes.items():
        into.attributes.setdefault(key, value)
    into.attributes = dict(into.attributes)
    into.first_name = into.first_name or source.first_name
    into.last_name = into.last_name or source.last_name
    into.birth_date = into.birth_date or source.birth_date
    into.enrolled_at = min(into.enrolled_at, source.enrolled_at)
    # The source is a pointer from here on: whatever a step resolves through merges (a
    # referral's sides, a reward's member) reaches the target.
    source.status = "merged"
    source.merged_into_id = into.id
    source.updated_at = into.updated_at = now
    session.flush()
    session.execute(
        update(Member).where(Member.merged_into_id == from_id).values(merged_into_id=into.id)
    )
    moved: dict[str, Mapping[str, Any]] = {}
    for step in STEPS:
        done = step.merge(session, source_id=from_id, target_id=into.id, now=now)
        if done:
            moved[step.name] = done
    session.flush()
    fact = MemberMerged(member_id=into.id, from_member_id=from_id, occurred_at=now, moved=moved)
    event = SystemEvent(fact.event_id, into.id, MEMBER_MERGED, now, fact.properties())
    reactions.after_events(session, record_events(session, [event], now), now)
    session.expire(into, ["identities"])
    session.expire(source)
    return Merged(into, moved, fact)
