"""A catalogue of the fields a condition may read in one context: what it knows, and the
sentence that refuses a field it does not."""

from __future__ import annotations

from lojal.conditions.fields import STORED, Catalogue, checking
from lojal.conditions.model import parse_condition

FIELDS = Catalogue(("line.sku", "line.category"), prefixes=("member.attributes.",))


def test_a_catalogue_knows_its_fields_and_any_key_below_a_prefix() -> None:
    assert FIELDS.knows("line.category")
    assert FIELDS.knows("member.attributes.favourite_store")
    assert not FIELDS.knows("member.attributes.")
    assert not FIELDS.knows("line.categroy")
    assert not FIELDS.knows("member.attributesx")


def test_a_refusal_names_the_first_unknown_field_and_the_fields_there_are() -> None:
    condition = parse_condition(
        {
            "all": [
                {"field": "line.sku", "op": "eq", "value": "A"},
                {"not": {"field": "line.categroy", "op": "eq", "value": "coffee"}},
                {"any": [{"field": "purchase.zone", "op": "exists", "value": True}]},
            ]
        }
    )
    assert FIELDS.unknown(["line.categroy", "line.sku", "purchase.zone"]) == [
        "line.categroy",
        "purchase.zone",
    ]
    assert FIELDS.refusal(condition) == (
        "unknown field 'line.categroy'; fields: line.sku, line.category, member.attributes.<key>"
    )
    assert FIELDS.refusal(parse_condition({"field": "line.sku", "op": "eq", "value": 1})) is None


def test_stored_conditions_are_read_back_unchecked() -> None:
    assert checking(None)
    assert checking({})
    assert not checking(STORED)
