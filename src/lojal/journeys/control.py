"""Control groups: who is kept out of the club's messages so that their effect can be measured
(pure: standard library only, no database).

Two groups
----------
* The **global control group** (``ControlSettings``): a share of the club's members who get no
  marketing message from any journey. Comparing them with everyone else shows what the
  messages do together.
* A journey's **holdout** (``HoldoutSettings``): a share of the members who enter one journey
  and are kept out of its messages, so that the journey's own lift can be measured
  (``lojal.insight.lift``). It is drawn from the members outside the global control group
  and independently of it.

Transactional messages (a receipt, a one-time login link, a consent confirmation) are exempt
from both: ``place(..., transactional=True)`` is always ``Placement.EXEMPT``.

Random, stable buckets
----------------------
A member's bucket is a number in [0, 1) from BLAKE2b of a salt and the member's *household
key* (``assign_bucket``); a member is in a group of ``p`` % when the bucket is below
``p / 100``. The same key and salt always give the same bucket, so a member stays where they
are from one run to the next without storing anything, and a new member falls in the same
share as everyone else. The global group and each journey's holdout hash with different salts,
so they are independent of each other.

Members who share an email address are one household: the key is the normalised email when
the member has one, else the member id (``household_key``). Two members with one inbox land
in the same bucket, so a message sent to one of them cannot reach the other, held-out one.

Sizing (the rules Braze publishes)
----------------------------------
A control group holds at most 10 % of its audience (``MAX_CONTROL_PERCENT``) and at least
1,000 members (``MIN_CONTROL_MEMBERS``), counted as the share of the audience it is expected
to hold. ``sized_percent`` refuses a percent that breaks either rule, naming the field, or —
when asked to clamp — raises a percent that is too small for the audience to the smallest
one that reaches 1,000 members, if that stays within 10 %. A percent of 0 is no group.

Reshuffled at most monthly
--------------------------
The buckets carry the day they were drawn (``ControlSettings.drawn_on``, the *period* in the
salt): drawing them again gives every member a new bucket. Members kept out of every message
for a long time drift away from the rest, so a club may reshuffle — but at most once a month:
``reshuffled`` and ``check_change`` refuse a new draw, or a change of percent or salt (each
moves members between the groups), before one calendar month has passed since the last draw
(31 January → 28 or 29 February). A journey's holdout uses the same period, so it is
reshuffled with the global group.

A member's placement should be recorded when they enter a journey: a later reshuffle, or a
changed email, may move their bucket, and the journey's figures compare members as they were
placed.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from lojal.calendar import add_months
from lojal.errors import Invalid

MAX_CONTROL_PERCENT = 10.0
MIN_CONTROL_MEMBERS = 1_000

_MANTISSA_BITS = 53  # a double holds every multiple of 2**-53 in [0, 1) exactly
_BUCKETS = 1 << _MANTISSA_BITS


class ControlGroupInvalid(Invalid):
    """A control group's settings break a rule; ``field`` names the setting."""


def assign_bucket(member_key: str, salt: str) -> float:
    """The member's bucket in [0, 1): the first 53 bits of the BLAKE2b-64 digest of the salt
    (its length in 4 bytes, then its UTF-8) followed by the key's UTF-8, over 2**53. The
    length prefix keeps ``("ab", "c")`` and ``("a", "bc")`` apart."""
    salt_bytes = salt.encode("utf-8")
    digest = hashlib.blake2b(
        len(salt_bytes).to_bytes(4, "big") + salt_bytes + member_key.encode("utf-8"),
        digest_size=8,
    ).digest()
    return (int.from_bytes(digest, "big") >> (64 - _MANTISSA_BITS)) / _BUCKETS


def household_key(member_id: int, email: str | None) -> str:
    """``email:<address>`` for a member with an email (trimmed and lower-cased, as
    ``lojal.members.identities.normalise_email`` stores it), else ``member:<id>``."""
    if email is not None:
        address = email.strip().lower()
        if address:
            return f"email:{address}"
    return f"member:{member_id}"


def _check_percent(percent: float, field: str) -> float:
    value = float(percent)
    if not math.isfinite(value) or value < 0 or value > MAX_CONTROL_PERCENT:
        raise ControlGroupInvalid(
            f"{field}: {percent} is not a percent from 0 to {MAX_CONTROL_PERCENT:g}"
            f" (a control group holds at most {MAX_CONTROL_PERCENT:g} % of its audience)",
            field=field,
        )
    return value


@dataclass(frozen=True)
class ControlSettings:
    """The club's global control group: ``percent`` of the members (0 = none, at most 10),
    bucketed with the club's secret ``salt`` as drawn on ``drawn_on``."""

    salt: str
    percent: float
    drawn_on: date

    def __post_init__(self) -> None:
        if not self.salt:
            raise ControlGroupInvalid("control_salt: must not be empty", field="control_salt")
        object.__setattr__(self, "percent", _check_percent(self.percent, "control_percent"))

    @property
    def period(self) -> str:
        """The draw the buckets belong to (the day, ISO 8601); part of every bucket's salt."""
        return self.drawn_on.isoformat()

    @property
    def earliest_reshuffle(self) -> date:
        """The first day a new draw is allowed: one calendar month after this one."""
        return add_months(self.drawn_on, 1)


@dataclass(frozen=True)
class HoldoutSettings:
    """One journey's holdout: ``percent`` (0 = none, at most 10) of the members who enter the
    journey outside the global control group. ``journey_key`` is stable for the journey (its
    id), so each journey holds out its own members."""

    journey_key: str
    percent: float

    def __post_init__(self) -> None:
        if not self.journey_key:
            raise ControlGroupInvalid("journey_key: must not be empty", field="journey_key")
        object.__setattr__(self, "percent", _check_percent(self.percent, "holdout_percent"))


class Placement(StrEnum):
    """Where a member stands for one message."""

    TREATED = "treated"  # gets the journey's messages
    GLOBAL_CONTROL = "global_control"  # in the club's global control group: no marketing
    HOLDOUT = "holdout"  # kept out of this journey's messages
    EXEMPT = "exempt"  # a transactional message: sent to everyone, measured by no group

    @property
    def held_out(self) -> bool:
        return self in {Placement.GLOBAL_CONTROL, Placement.HOLDOUT}


def global_salt(settings: ControlSettings) -> str:
    return f"global:{settings.period}:{settings.salt}"


def holdout_salt(settings: ControlSettings, holdout: HoldoutSettings) -> str:
    return f"journey:{holdout.journey_key}:{settings.period}:{settings.salt}"


def in_global_control(household: str, settings: ControlSettings) -> bool:
    """Whether the household is in the global control group."""
    return assign_bucket(household, global_salt(settings)) < settings.percent / 100


def in_holdout(household: str, settings: ControlSettings, holdout: HoldoutSettings) -> bool:
    """Whether the household falls in the journey's holdout bucket (regardless of the global
    group: ``place`` puts the global control group first)."""
    return assign_bucket(household, holdout_salt(settings, holdout)) < holdout.percent / 100


def place(
    household: str,
    settings: ControlSettings,
    holdout: HoldoutSettings | None = None,
    *,
    transactional: bool = False,
) -> Placement:
    """Where the household stands for a message of a journey (``holdout`` None: a journey
    without a holdout, or a message of no journey). Transactional messages are exempt from
    every control group."""
    if transactional:
        return Placement.EXEMPT
    if in_global_control(household, settings):
        return Placement.GLOBAL_CONTROL
    if holdout is not None and in_holdout(household, settings, holdout):
        return Placement.HOLDOUT
    return Placement.TREATED


def sized_percent(percent: float, audience: int, *, field: str, clamp: bool = False) -> float:
    """The percent a control group of ``audience`` members uses: ``percent`` itself when it
    is 0 (no group) or gives at least 1,000 members within 10 %. A percent above 10 is
    refused. A percent that gives fewer than 1,000 members is refused, or with ``clamp``
    raised to the smallest percent (to 1/100 of a percent) that reaches 1,000 members; when
    even 10 % of the audience is fewer than 1,000 members, no group can be formed and it is
    refused either way."""
    value = _check_percent(percent, field)
    if audience < 0:
        raise ControlGroupInvalid(f"audience: {audience} is negative", field="audience")
    if value == 0 or audience * value >= MIN_CONTROL_MEMBERS * 100:
        return value
    needed = math.ceil(MIN_CONTROL_MEMBERS * 100 * 100 / audience) / 100 if audience else math.inf
    if not clamp or needed > MAX_CONTROL_PERCENT:
        smallest = math.ceil(MIN_CONTROL_MEMBERS * 100 / MAX_CONTROL_PERCENT)
        if needed > MAX_CONTROL_PERCENT:
            reason = (
                f"an audience of {audience:,} members is too small for a control group:"
                f" at least {MIN_CONTROL_MEMBERS:,} members within {MAX_CONTROL_PERCENT:g} %"
                f" needs an audience of at least {smallest:,}"
            )
        else:
            reason = (
                f"{value:g} % of {audience:,} members is about"
                f" {math.floor(audience * value / 100):,}, fewer than the"
                f" {MIN_CONTROL_MEMBERS:,} a control group needs; use at least {needed:g} %"
            )
        raise ControlGroupInvalid(f"{field}: {reason}", field=field)
    return needed


def reshuffled(settings: ControlSettings, on: date) -> ControlSettings:
    """The same group drawn again on ``on``: refused before one calendar month has passed
    since the last draw."""
    _check_draw(settings, on)
    return ControlSettings(salt=settings.salt, percent=settings.percent, drawn_on=on)


def _check_draw(before: ControlSettings, on: date) -> None:
    if on < before.earliest_reshuffle:
        raise ControlGroupInvalid(
            "control_drawn_on: the control group is reshuffled at most once a month;"
            f" it was drawn on {before.drawn_on.isoformat()}, so the next draw is on or"
            f" after {before.earliest_reshuffle.isoformat()}, not {on.isoformat()}",
            field="control_drawn_on",
        )


def check_change(before: ControlSettings | None, after: ControlSettings) -> None:
    """Refuse a change of the global control group that reshuffles it too soon: a new draw,
    percent or salt moves members between the groups, so it needs a new draw at least one
    calendar month after the last one. Nothing changed, or no group before, is fine."""
    if before is None or before == after:
        return
    if after.drawn_on == before.drawn_on:
        raise ControlGroupInvalid(
            "control_drawn_on: a new percent or salt reshuffles the control group, so it"
            f" needs a new draw (on or after {before.earliest_reshuffle.isoformat()})",
            field="control_drawn_on",
        )
    _check_draw(before, after.drawn_on)
