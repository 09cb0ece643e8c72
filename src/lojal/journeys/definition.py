"""A journey: what starts it (the *trigger*), who may take it (the *audience*), and what
happens then (the *steps*), one member at a time.

A journey is data (YAML or JSON), checked when it is saved::

    code: welcome
    name: Välkommen
    trigger: {kind: enrolled}
    audience: {field: member.consent.email, op: eq, value: true}   # optional
    steps:
      - coupon: {campaign: VALKOMMEN}
      - send: {channel: email, template: welcome}
      - wait: {days: 7}
      - branch:
          when: {activity: purchases, measure: none, within: {last_days: 7}}
          then: [{send: {channel: push, template: reminder}}]
    templates:
      welcome: {subject: "Välkommen {{ member.first_name }}", body: "Din kod: {{ coupon_code }}"}

**Triggers.** Events, in the transaction that records them (``journeys.triggers``, called
by ``lojal.reactions``): ``enrolled``, ``purchase``, ``first_purchase``, ``return``,
``tier_changed`` (``to``: only into these tiers; ``direction``: up or down; the first tier,
given at enrolment, is no change),
``reward_redeemed``, ``challenge_completed``, ``segment_entered`` / ``segment_left``
(``segment``: its code), ``event`` (``event_type``: any custom event). Dates, by the daily
sweep in the club's time zone (``journeys.sweep``): ``birthday`` (29 February on 28
February in years without one), ``anniversary`` (of enrolment), ``days_since_last_purchase``
(``days``), ``survey_unanswered`` (``days`` after a ``survey_sent`` event with no
``survey_answered`` since), ``points_expiring`` (points that expire in ``days``),
``renewal_due`` (an active paid membership renews in ``days``).

**Audience** and a branch's ``when`` are segment definitions (``lojal.segments.definition``:
member fields through the condition language, measures over activity, birthdays, ...),
decided in SQL for the member at the moment of entry, or of the branch.

**Steps**, in order: ``wait`` (days, hours, minutes), ``branch`` (``when`` → ``then``, else
``else``), ``send`` (``channel`` email/sms/push/inbox, ``template`` a key of the journey's
``templates``, ``purpose`` marketing or transactional), ``coupon`` (a code of an existing
campaign, bound to the member; later templates may show ``coupon_code``), ``points`` (earned
through the ledger), ``attribute`` (set a member attribute).

**Once per member** unless ``once_per_member: false``: then once per occasion (each event
for an event trigger, each local day for a date trigger). ``holdout_percent`` of the
audience (by a stable bucket of the member's household, ``journeys.control``; sized against
the audience when saved, ``journeys.service.check_holdout``) is held out, as is the club's
global control group: their run is recorded and they get nothing of the journey but its
transactional messages. ``conversion_days``: a purchase within that many days of entry
converts the run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from lojal.segments.definition import Definition, dump_definition

TriggerKind = Literal[
    "enrolled",
    "purchase",
    "first_purchase",
    "return",
    "tier_changed",
    "reward_redeemed",
    "challenge_completed",
    "segment_entered",
    "segment_left",
    "event",
    "birthday",
    "anniversary",
    "days_since_last_purchase",
    "survey_unanswered",
    "points_expiring",
    "renewal_due",
]
DATE_TRIGGERS = frozenset(
    {
        "birthday",
        "anniversary",
        "days_since_last_purchase",
        "survey_unanswered",
        "points_expiring",
        "renewal_due",
    }
)
NEEDS_DAYS = frozenset(
    {"days_since_last_purchase", "survey_unanswered", "points_expiring", "renewal_due"}
)
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MAX_STEPS = 50

# The sandbox templates are rendered in: no attribute of Python's internals, no imports.
TEMPLATES = SandboxedEnvironment(autoescape=False)


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Trigger(_Node):
    kind: TriggerKind
    days: int | None = Field(None, ge=0, le=3660)
    event_type: str | None = Field(None, min_length=1, max_length=64)
    segment: str | None = Field(None, min_length=1, max_length=64)
    to: list[str] | None = None
    direction: Literal["up", "down"] | None = None
    # the survey's events (survey_unanswered)
    sent_type: str = Field("survey_sent", min_length=1, max_length=64)
    answered_type: str = Field("survey_answered", min_length=1, max_length=64)

    @model_validator(mode="after")
    def _coherent(self) -> Trigger:
        if self.kind in NEEDS_DAYS and self.days is None:
            raise ValueError(f"a {self.kind} trigger needs 'days'")
        if self.kind not in NEEDS_DAYS and self.days is not None:
            raise ValueError(f"a {self.kind} trigger takes no 'days'")
        if self.kind == "event" and self.event_type is None:
            raise ValueError("an event trigger needs 'event_type'")
        if self.kind != "event" and self.event_type is not None:
            raise ValueError(f"a {self.kind} trigger takes no 'event_type'")
        if self.kind in ("segment_entered", "segment_left") and self.segment is None:
            raise ValueError(f"a {self.kind} trigger needs 'segment' (its code)")
        if self.kind not in ("segment_entered", "segment_left") and self.segment is not None:
            raise ValueError(f"a {self.kind} trigger takes no 'segment'")
        if self.kind != "tier_changed" and (self.to is not None or self.direction is not None):
            raise ValueError("'to' and 'direction' go with a tier_changed trigger")
        return self

    @property
    def on_date(self) -> bool:
        return self.kind in DATE_TRIGGERS


class Wait(_Node):
    days: int = Field(0, ge=0, le=3660)
    hours: int = Field(0, ge=0, le=1000)
    minutes: int = Field(0, ge=0, le=10000)

    @model_validator(mode="after")
    def _some(self) -> Wait:
        if not (self.days or self.hours or self.minutes):
            raise ValueError("a wait needs days, hours or minutes")
        return self

    @property
    def duration(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes)


class WaitStep(_Node):
    wait: Wait


class Send(_Node):
    channel: Literal["email", "sms", "push", "inbox"]
    template: str = Field(min_length=1, max_length=64)
    purpose: Literal["marketing", "transactional"] = "marketing"


class SendStep(_Node):
    send: Send


class Coupon(_Node):
    campaign: int | str = Field(description="the coupon campaign: its id or its name")
    valid_days: int | None = Field(None, ge=1, le=3660)


class CouponStep(_Node):
    coupon: Coupon


class Points(_Node):
    points: int = Field(ge=1, le=10_000_000)
    reason: str = Field("journey", min_length=1, max_length=200)


class PointsStep(_Node):
    points: Points


class Attribute(_Node):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    value: str | int | float | bool | None


class AttributeStep(_Node):
    attribute: Attribute


class Branch(_Node):
    when: Definition
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")


class BranchStep(_Node):
    branch: Branch


_KEYS = ("wait", "branch", "send", "coupon", "points", "attribute")
_CLASSES: dict[type[Any], str] = {}


def _kind(data: Any) -> str | None:
    if isinstance(data, dict):
        found = [key for key in _KEYS if key in data]
        return found[0] if len(found) == 1 else None
    return _CLASSES.get(type(data))


Step = Annotated[
    Annotated[WaitStep, Tag("wait")]
    | Annotated[BranchStep, Tag("branch")]
    | Annotated[SendStep, Tag("send")]
    | Annotated[CouponStep, Tag("coupon")]
    | Annotated[PointsStep, Tag("points")]
    | Annotated[AttributeStep, Tag("attribute")],
    Discriminator(
        _kind,
        custom_error_type="invalid_step",
        custom_error_message="a step has exactly one of the keys " + ", ".join(_KEYS),
    ),
]
_STEP_CLASSES: tuple[tuple[type[Any], str], ...] = (
    (WaitStep, "wait"),
    (BranchStep, "branch"),
    (SendStep, "send"),
    (CouponStep, "coupon"),
    (PointsStep, "points"),
    (AttributeStep, "attribute"),
)
_CLASSES.update(_STEP_CLASSES)
Branch.model_rebuild()


class Template(_Node):
    subject: str | None = Field(None, max_length=300)
    body: str = Field(min_length=1, max_length=20_000)

    @field_validator("subject", "body")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                TEMPLATES.parse(value)
            except TemplateSyntaxError as exc:
                raise ValueError(f"the template does not compile: {exc.message}") from exc
        return value


def walk_steps(steps: list[Step]) -> list[Step]:
    """Every step, branches' arms included, in order."""
    out: list[Step] = []
    for step in steps:
        out.append(step)
        if isinstance(step, BranchStep):
            out.extend(walk_steps(step.branch.then))
            out.extend(walk_steps(step.branch.else_))
    return out


class JourneyDefinition(_Node):
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    trigger: Trigger
    audience: Definition | None = None
    steps: list[Step] = Field(min_length=1)
    templates: dict[str, Template] = Field(default_factory=dict)
    once_per_member: bool = True
    holdout_percent: int = Field(0, ge=0, le=50)
    conversion_days: int = Field(7, ge=1, le=365)

    @model_validator(mode="after")
    def _steps_known(self) -> JourneyDefinition:
        every = walk_steps(self.steps)
        if len(every) > MAX_STEPS:
            raise ValueError(f"steps: at most {MAX_STEPS} steps, branches' included")
        for step in every:
            if isinstance(step, SendStep) and step.send.template not in self.templates:
                known = ", ".join(sorted(self.templates)) or "none"
                raise ValueError(
                    f"steps: template {step.send.template!r} is not in templates ({known})"
                )
        return self

    def dump(self) -> dict[str, Any]:
        """As JSON data, the audience and branches as given."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if self.audience is not None:
            data["audience"] = dump_definition(self.audience)
        data["steps"] = [_dump_step(s, d) for s, d in zip(self.steps, data["steps"], strict=True)]
        return data


def _dump_step(step: Step, data: dict[str, Any]) -> dict[str, Any]:
    if isinstance(step, BranchStep):
        arms = data["branch"]
        return {
            "branch": {
                "when": dump_definition(step.branch.when),
                "then": [
                    _dump_step(s, d) for s, d in zip(step.branch.then, arms["then"], strict=True)
                ],
                "else": [
                    _dump_step(s, d) for s, d in zip(step.branch.else_, arms["else"], strict=True)
                ],
            }
        }
    return data


# ---------------------------------------------------------------- a run's place in its steps

Position = tuple[int, ...]
"""Where a run is: ``(i,)`` the i-th step; ``(i, arm, j)`` the j-th step of the i-th step's
branch arm (0 then, 1 else); and so on for branches inside branches."""


def step_at(steps: list[Step], position: Position) -> Step | None:
    """The step at ``position`` (None: the journey is over)."""
    current: list[Step] = steps
    i = 0
    while True:
        index = position[i]
        if index >= len(current):
            return None
        step = current[index]
        if i + 1 == len(position):
            return step
        assert isinstance(step, BranchStep)
        current = step.branch.then if position[i + 1] == 0 else step.branch.else_
        i += 2


def _arm(steps: list[Step], prefix: Position) -> list[Step]:
    current: list[Step] = steps
    for i in range(0, len(prefix), 2):
        step = current[prefix[i]]
        assert isinstance(step, BranchStep)
        current = step.branch.then if prefix[i + 1] == 0 else step.branch.else_
    return current


def after(steps: list[Step], position: Position) -> Position | None:
    """The position after the step at ``position`` (leaving finished arms); None at the end."""
    while True:
        arm = _arm(steps, position[:-1])
        nxt = (*position[:-1], position[-1] + 1)
        if nxt[-1] < len(arm):
            return nxt
        if len(position) == 1:
            return None
        position = position[:-2]


def into(steps: list[Step], position: Position, arm: int) -> Position | None:
    """The first step of the branch's ``arm`` at ``position``, or the step after the branch
    when that arm is empty."""
    branch = step_at(steps, position)
    assert isinstance(branch, BranchStep)
    chosen = branch.branch.then if arm == 0 else branch.branch.else_
    if chosen:
        return (*position, arm, 0)
    return after(steps, position)


def label(position: Position) -> str:
    """A position as text (``3`` or ``2.then.0``), for keys and history."""
    parts = [str(position[0])]
    for i in range(1, len(position), 2):
        parts.append("then" if position[i] == 0 else "else")
        parts.append(str(position[i + 1]))
    return ".".join(parts)


def kind_of(step: Step) -> str:
    return _CLASSES[type(step)]
