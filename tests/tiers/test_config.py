"""Tiers in the programme file: a bad section is refused with the field named, and each tier's
multiplier becomes an earning rule that reads well in the explanation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lojal.activities.events import LineFacts
from lojal.program.errors import InvalidProgram
from lojal.program.service import parse, validate
from lojal.rules.engine import MemberFacts, PurchaseFacts, award_purchase
from tests.conftest import DEFAULT_PROGRAM
from tests.tiers.club import tiers

SATURDAY = datetime(2026, 3, 7, 12, tzinfo=UTC)
MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)


def program(**overrides: Any) -> dict[str, Any]:
    return {**DEFAULT_PROGRAM, "tiers": tiers(), **overrides}


def with_levels(*changes: tuple[int, str, Any]) -> dict[str, Any]:
    section = tiers()
    for index, key, value in changes:
        section["levels"][index][key] = value
    return program(tiers=section)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (with_levels((1, "code", "bronze")), "tiers.levels.1.code"),
        (with_levels((2, "threshold", 50_000)), "tiers.levels.2.threshold"),
        (with_levels((1, "threshold", 0)), "tiers.levels.1.threshold"),
        (with_levels((1, "multiplier", "0.5")), "tiers.levels.1.multiplier"),
        (with_levels((0, "code", "Bronze!")), "tiers.levels.0.code"),
        (with_levels((0, "code", "x" * 33)), "tiers.levels.0.code"),
        (with_levels((0, "threshold", -1)), "tiers.levels.0.threshold"),
        (with_levels((2, "perks", [""])), "tiers.levels.2.perks.0"),
        (with_levels((0, "name", "")), "tiers.levels.0.name"),
        (program(tiers=tiers(levels=[])), "tiers.levels"),
        (program(tiers=tiers(basis="visits")), "tiers.basis"),
        (program(tiers=tiers(period="quarter")), "tiers.period"),
        (program(tiers=tiers(downgrade={"max_levels": 0})), "tiers.downgrade.max_levels"),
        (program(tiers=tiers(downgrade={"grace_days": -5})), "tiers.downgrade.grace_days"),
        (program(tiers=tiers(downgrade={"grace": 5})), "tiers.downgrade.grace"),
        (program(tiers=tiers(colour="gold")), "tiers.colour"),
        (
            program(
                rules=[
                    {"id": "base", "kind": "base", "points": 1},
                    {"id": "tier_gold", "kind": "bonus", "points": 5},
                ]
            ),
            "rules.1.id",
        ),
    ],
)
def test_a_bad_tiers_section_is_refused_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidProgram) as refused:
        validate(data)
    assert refused.value.field == field
    assert refused.value.detail.startswith(field + ":")


def test_the_yaml_of_the_docs_is_a_valid_programme() -> None:
    text = """
name: Kaffebaren
currency: SEK
rules:
  - {id: base, kind: base, points: 1}
tiers:
  basis: spend
  period: calendar_year
  downgrade: {max_levels: 1, grace_days: 30}
  levels:
    - {code: bronze, name: Bronze, threshold: 0}
    - {code: silver, name: Silver, threshold: 500000, multiplier: 1.25,
       perks: [Free coffee refill]}
    - {code: gold, name: Gold, threshold: 1500000, multiplier: 1.5,
       perks: [Free delivery, Early access to sales]}
"""
    config = parse(text)
    assert config.tiers is not None
    assert config.tiers.codes == ["bronze", "silver", "gold"]
    assert config.tiers.floor == 0
    assert [rule.id for rule in config.ruleset().rules] == ["base", "tier_silver", "tier_gold"]


def test_without_a_tier_of_threshold_zero_a_member_below_the_lowest_has_none() -> None:
    config = validate(with_levels((0, "threshold", 10_000)))
    assert config.tiers is not None
    assert config.tiers.floor == -1


def _award(config_data: dict[str, Any], tier: str | None, at: datetime = MONDAY) -> Any:
    config = validate(config_data)
    purchase = PurchaseFacts(at, "store", 10_000, [LineFacts.of("A", 10_000)])
    return award_purchase(config.ruleset(), purchase, MemberFacts(tier=tier))


def test_a_tier_multiplier_applies_to_members_in_the_tier_and_reads_well() -> None:
    assert _award(program(), None).points == 100
    assert _award(program(), "bronze").points == 100
    silver = _award(program(), "silver")
    assert silver.points == 125
    assert "×1.25 Silver" in silver.explanation
    gold = _award(program(), "gold")
    assert gold.points == 150
    assert gold.explanation == "150 points: 1 per SEK on SEK\xa0100.00; ×1.5 Gold"


WEEKEND = {
    "id": "weekend",
    "kind": "multiplier",
    "factor": 2,
    "when": {"field": "purchase.weekday", "op": "in", "value": ["sat", "sun"]},
}


@pytest.mark.parametrize(
    ("stacking", "points"),
    [("multiply", 300), ("add", 250), ("max", 200)],
)
def test_a_tier_multiplier_stacks_as_the_programme_says(stacking: str, points: int) -> None:
    data = program(
        multiplier_stacking=stacking,
        rules=[{"id": "base", "kind": "base", "points": 1}, WEEKEND],
    )
    award = _award(data, "gold", SATURDAY)
    assert award.points == points
    assert _award(data, "gold", MONDAY).points == 150
