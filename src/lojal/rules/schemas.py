"""Earning rules as the marketer writes them in the programme file.

Rules run in the order they are listed (the stacking order), by kind:

* ``base``        points per currency unit on lines matching ``when``; a line earns from the
                  first base rule that matches it (so "2 per SEK on coffee" can precede
                  "1 per SEK on everything").
* ``multiplier``  multiplies the base points of matching lines (``×2 on coffee``, double points
                  at weekends). Several multipliers combine by the programme's
                  ``multiplier_stacking``: ``multiply`` (×2 and ×3 give ×6), ``add`` (×4) or
                  ``max`` (×3).
* ``bonus``       fixed points once per purchase when ``when`` holds (e.g. a minimum spend).
* ``first_purchase`` fixed points on a member's first purchase.
* ``event``       fixed points for a custom event (``review_written``, ``survey_answered``).

Every rule may carry ``valid_from``/``valid_until`` (a campaign window) and a ``cap``: at most
``points`` from this rule per member per ``period`` (day, week, month, year in the club's time
zone, or lifetime).

A rule's ``when`` reads the fields of its context (``PURCHASE_FIELDS`` for the purchase rules,
``EVENT_FIELDS`` for event rules — what ``rules.engine`` gives a condition); a field that is not
one of them is refused, naming it and the fields there are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from lojal.conditions.fields import Catalogue, checking
from lojal.conditions.model import Condition
from lojal.inputs import Time

RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"

# What the engine gives a purchase rule's condition (rules.engine.purchase_context): the line
# (for base and multiplier rules, line by line), the purchase, the member.
PURCHASE_FIELDS = Catalogue(
    (
        "line.sku",
        "line.category",
        "line.name",
        "line.quantity",
        "line.unit_price_minor",
        "line.total_minor",
        "purchase.channel",
        "purchase.store_id",
        "purchase.total_minor",
        "purchase.line_count",
        "purchase.occurred_at",
        "purchase.weekday",
        "purchase.hour",
        "purchase.local_date",
        "member.tier",
        "member.enrolment_channel",
        "member.first_purchase",
    ),
    prefixes=("purchase.attributes.", "member.attributes."),
)
# ... and an event rule's (rules.engine.award_event).
EVENT_FIELDS = Catalogue(
    ("event.type", "event.channel", "member.tier", "member.enrolment_channel"),
    prefixes=("event.properties.", "member.attributes."),
)


class Cap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: int = Field(ge=1, le=10**9)
    period: Literal["day", "week", "month", "year", "lifetime"]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=RULE_ID_PATTERN, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    when: Condition | None = None
    valid_from: Time | None = None
    valid_until: Time | None = None
    cap: Cap | None = None

    FIELDS: ClassVar[Catalogue] = PURCHASE_FIELDS

    @field_validator("when")
    @classmethod
    def _known_fields(cls, when: Condition | None, info: ValidationInfo) -> Condition | None:
        if when is not None and checking(info.context):
            refusal = cls.FIELDS.refusal(when)
            if refusal is not None:
                raise PydanticCustomError("unknown_field", "{refusal}", {"refusal": refusal})
        return when

    @model_validator(mode="after")
    def _window(self) -> _Rule:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class BaseRule(_Rule):
    kind: Literal["base"]
    points: Decimal = Field(gt=0, le=1000)
    per: Decimal = Field(default=Decimal(1), gt=0, le=10**6)


class MultiplierRule(_Rule):
    kind: Literal["multiplier"]
    factor: Decimal = Field(gt=1, le=100)


class BonusRule(_Rule):
    kind: Literal["bonus"]
    points: int = Field(ge=1, le=10**9)


class FirstPurchaseRule(_Rule):
    kind: Literal["first_purchase"]
    points: int = Field(ge=1, le=10**9)


class EventRule(_Rule):
    FIELDS: ClassVar[Catalogue] = EVENT_FIELDS
    kind: Literal["event"]
    event_type: str = Field(min_length=1, max_length=64)
    points: int = Field(ge=1, le=10**9)


Rule = Annotated[
    BaseRule | MultiplierRule | BonusRule | FirstPurchaseRule | EventRule,
    Field(discriminator="kind"),
]
