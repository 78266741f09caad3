"""Schema compatibility rules, on schemas generated from real pydantic models."""

from __future__ import annotations

from typing import Annotated, Literal, Union

import pytest
from pydantic import BaseModel, Field, create_model

from shared.compat import breaking_changes


class Address(BaseModel):
    street: str
    city: str


class V1(BaseModel):
    id: str
    total: int = Field(ge=0)
    status: Literal["placed", "delivered", "cancelled"]
    note: str | None = None
    address: Address
    tags: list[str] = []


def rules(new: type[BaseModel]) -> set[tuple[str, str]]:
    return {
        (b.path, b.rule) for b in breaking_changes(V1.model_json_schema(), new.model_json_schema())
    }


def test_identical_and_additive_changes_are_compatible():
    class Additive(V1):
        extra: str | None = None
        status: Literal["placed", "delivered", "cancelled", "refunded"]  # type: ignore[assignment]

    assert rules(V1) == set()
    assert rules(Additive) == set()


def test_removing_a_field_is_breaking():
    class Removed(BaseModel):
        id: str
        total: int = Field(ge=0)
        status: Literal["placed", "delivered", "cancelled"]
        address: Address
        tags: list[str] = []

    assert rules(Removed) == {("$.note", "field-removed")}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"total": (str, ...)}, ("$.total", "type-changed")),
        ({"note": (str, ...)}, ("$.note", "made-required")),
        ({"currency": (str, ...)}, ("$.currency", "required-added")),
        ({"status": (Literal["placed", "delivered"], ...)}, ("$.status", "enum-value-removed")),
        ({"total": (int, Field(ge=1))}, ("$.total", "constraint-tightened")),
        ({"note": (str, None)}, ("$.note", "nullability-removed")),
        ({"total": (int | None, Field(ge=0))}, ("$.total", "nullability-added")),
        ({"id": (str, "")}, ("$.id", "made-optional")),
        (
            {"id": (str, Field(json_schema_extra={"format": "uuid"}))},
            ("$.id", "constraint-tightened"),
        ),
        ({"total": (int, Field(ge=0, multiple_of=5))}, ("$.total", "constraint-tightened")),
    ],
)
def test_each_rule_names_the_field(change, expected):
    from pydantic import create_model

    new = create_model("New", __base__=V1, **change)
    assert expected in rules(new)


def test_nested_objects_are_compared_through_refs():
    class Address2(BaseModel):
        street: str

    class Nested(V1):
        address: Address2  # type: ignore[assignment]

    assert rules(Nested) == {("$.address.city", "field-removed")}


def test_a_recursive_definition_is_compared_without_looping():
    class Option(BaseModel):
        name: str
        options: list[Option] = []

    class Menu(BaseModel):
        options: list[Option]

    class OptionV2(BaseModel):
        name: int
        options: list[OptionV2] = []

    class MenuV2(BaseModel):
        options: list[OptionV2]

    same = breaking_changes(Menu.model_json_schema(), Menu.model_json_schema())
    changed = breaking_changes(Menu.model_json_schema(), MenuV2.model_json_schema())
    assert same == []
    assert [(b.path, b.rule) for b in changed] == [("$.options[].name", "type-changed")]


# -- bounds: a published range moves neither way (old events replayed, old readers validating) --


def field_rules(old: dict, new: dict) -> list[tuple[str, str]]:
    """The rules broken when one field's schema goes from ``old`` to ``new``."""
    old_doc = {"type": "object", "properties": {"f": old}}
    new_doc = {"type": "object", "properties": {"f": new}}
    return [(b.path, b.rule) for b in breaking_changes(old_doc, new_doc)]


TIGHTENED = [("$.f", "constraint-tightened")]
LOOSENED = [("$.f", "constraint-loosened")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total": (int, Field(ge=0, le=100))}, "$.total"),  # maximum added
        ({"total": (int, Field(ge=0, lt=100))}, "$.total"),  # exclusiveMaximum added
        ({"id": (str, Field(max_length=36))}, "$.id"),  # maxLength added
        ({"tags": (list[str], Field(default=[], max_length=3))}, "$.tags"),  # maxItems added
    ],
    ids=["maximum", "exclusiveMaximum", "maxLength", "maxItems"],
)
def test_adding_an_upper_bound_is_breaking(change, field):
    from pydantic import create_model

    new = create_model("New", __base__=V1, **change)
    assert rules(new) == {(field, "constraint-tightened")}


@pytest.mark.parametrize(
    ("base", "key"),
    [
        ({"type": "integer"}, "maximum"),
        ({"type": "integer"}, "exclusiveMaximum"),
        ({"type": "string"}, "maxLength"),
        ({"type": "array", "items": {"type": "string"}}, "maxItems"),
    ],
)
def test_lowering_an_upper_bound_is_tightening_raising_or_dropping_it_loosening(base, key):
    ten = {**base, key: 10}
    assert field_rules(ten, {**base, key: 9}) == TIGHTENED
    assert field_rules(ten, {**base, key: 10}) == []
    # a reader of the old schema (or one validating against it) refuses the new values
    assert field_rules(ten, {**base, key: 11}) == LOOSENED
    assert field_rules(ten, base) == LOOSENED


@pytest.mark.parametrize(
    ("base", "key"),
    [
        ({"type": "integer"}, "minimum"),
        ({"type": "number"}, "exclusiveMinimum"),
        ({"type": "string"}, "minLength"),
        ({"type": "array", "items": {"type": "string"}}, "minItems"),
    ],
)
def test_raising_a_lower_bound_is_tightening_lowering_or_dropping_it_loosening(base, key):
    two = {**base, key: 2}
    assert field_rules(two, {**base, key: 3}) == TIGHTENED
    assert field_rules(two, {**base, key: 2}) == []
    assert field_rules(two, {**base, key: 1}) == LOOSENED
    assert field_rules(two, base) == LOOSENED


def test_an_inclusive_and_an_exclusive_bound_are_compared_as_the_range_they_allow():
    integer, number = {"type": "integer"}, {"type": "number"}
    # the same integers: written another way, not changed
    assert field_rules({**integer, "minimum": 1}, {**integer, "exclusiveMinimum": 0}) == []
    assert field_rules({**integer, "maximum": 9}, {**integer, "exclusiveMaximum": 10}) == []
    # 0 itself: refused now, or allowed now
    assert field_rules({**number, "minimum": 0}, {**number, "exclusiveMinimum": 0}) == TIGHTENED
    assert field_rules({**number, "exclusiveMinimum": 0}, {**number, "minimum": 0}) == LOOSENED
    old = {"type": "object", "properties": {"f": {**number, "exclusiveMaximum": 1}}}
    new = {"type": "object", "properties": {"f": {**number, "maximum": 1}}}
    assert [str(b) for b in breaking_changes(old, new)] == [
        "$.f: constraint-loosened: maximum 1 (exclusive) -> 1"
    ]


# -- pattern: a new or different one may refuse old values, a dropped one lets new ones by ---


def test_adding_a_pattern_is_breaking():
    from pydantic import create_model

    new = create_model("New", __base__=V1, id=(str, Field(pattern=r"^[a-z0-9-]+$")))
    assert rules(new) == {("$.id", "constraint-tightened")}


def test_changing_or_dropping_a_pattern_is_breaking_keeping_it_is_not():
    upper = {"type": "string", "pattern": "^[A-Z]{3}$"}
    # even a pattern that happens to accept more is flagged: patterns are not compared
    assert field_rules(upper, {**upper, "pattern": "^[A-Z]{2,3}$"}) == TIGHTENED
    assert field_rules(upper, {**upper, "pattern": "^[a-z]{3}$"}) == TIGHTENED
    assert field_rules(upper, dict(upper)) == []
    assert field_rules(upper, {"type": "string"}) == LOOSENED


@pytest.mark.parametrize(
    ("key", "value"),
    [("format", "uuid"), ("multipleOf", 5), ("uniqueItems", True), ("not", {"const": ""})],
)
def test_a_keyword_compared_as_a_whole_added_is_tightening_dropped_loosening(key, value):
    base = {"type": "array"} if key == "uniqueItems" else {"type": "string"}
    assert field_rules(base, {**base, key: value}) == TIGHTENED
    assert field_rules({**base, key: value}, base) == LOOSENED
    assert field_rules({**base, key: value}, {**base, key: value}) == []


# -- enum values: the producer may add, never remove ------------------------------------------
#
# breaking_changes(old, new) compares a producer's committed schema (old) with the one it now
# writes (new). A value added to what the producer writes is compatible: readers are tolerant
# (shared.contracts.knows skips values they do not know). The same change read the other way
# (the new schema as "old") is a value removed, which breaks replays of events that carry it.


def test_an_enum_value_added_by_the_producer_is_compatible_but_not_the_reverse():
    class Widened(V1):
        status: Literal["placed", "delivered", "cancelled", "refunded"]  # type: ignore[assignment]

    old, new = V1.model_json_schema(), Widened.model_json_schema()
    assert breaking_changes(old, new) == []
    assert [(b.path, b.rule, b.detail) for b in breaking_changes(new, old)] == [
        ("$.status", "enum-value-removed", "'refunded' is no longer allowed")
    ]


def test_a_const_widened_to_an_enum_is_compatible_a_const_changed_is_not():
    const = {"type": "string", "const": "placed"}
    assert field_rules(const, {"type": "string", "enum": ["placed", "delivered"]}) == []
    assert field_rules(const, {"type": "string", "const": "delivered"}) == [
        ("$.f", "enum-value-removed")
    ]


def test_limiting_a_free_field_to_an_enum_is_breaking_freeing_it_is_not():
    free, limited = {"type": "string"}, {"type": "string", "enum": ["placed", "delivered"]}
    assert field_rules(free, limited) == TIGHTENED
    assert field_rules(limited, free) == []


# -- defaults: what a reader takes a left-out value to mean -----------------------------------


def test_a_changed_default_is_breaking_keeping_it_is_not():
    class Quiet(V1):
        notify: bool = False

    class Loud(V1):
        notify: bool = True

    old, new = Loud.model_json_schema(), Quiet.model_json_schema()
    assert breaking_changes(old, old) == []
    assert [str(b) for b in breaking_changes(old, new)] == [
        "$.notify: default-changed: true -> false (a value left out now reads as false)"
    ]


def test_a_default_added_or_removed_on_an_optional_field_is_breaking():
    bare, with_default = {"type": "integer"}, {"type": "integer", "default": 1}
    assert field_rules(bare, with_default) == [("$.f", "default-changed")]
    assert field_rules(with_default, bare) == [("$.f", "default-changed")]
    # JSON values, compared as JSON: true is not 1
    assert field_rules({"default": 1}, {"default": True}) == [("$.f", "default-changed")]


def test_a_default_that_goes_with_required_is_named_by_that_rule_only():
    class Required(V1):
        note: str  # type: ignore[assignment]

    assert {r for _, r in rules(Required)} == {"made-required", "nullability-removed"}


# -- unions: the message names the types, and their alternatives are compared -----------------


def test_a_widened_type_names_both_sides():
    class Widened(V1):
        note: str | int | None = None  # type: ignore[assignment]

    [change] = breaking_changes(V1.model_json_schema(), Widened.model_json_schema())
    assert str(change) == "$.note: type-changed: string -> string | integer"


def test_an_alternative_of_a_union_changed_is_breaking_reordering_them_is_not():
    text_or_number = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    number_or_text = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    text_or_flag = {"anyOf": [{"type": "string"}, {"type": "boolean"}]}
    assert field_rules(text_or_number, number_or_text) == []
    assert field_rules(text_or_number, text_or_flag) == [("$.f", "type-changed")]
    short = {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer"}]}
    assert field_rules(text_or_number, short) == [("$.f", "constraint-tightened")]


# -- defaults are JSON values: how a number is written is not a change ------------------------


def test_a_default_written_as_another_number_of_the_same_value_is_not_a_change():
    class One(V1):
        weight: float = 1

    class OnePointZero(V1):
        weight: float = 1.0

    assert breaking_changes(One.model_json_schema(), OnePointZero.model_json_schema()) == []
    assert field_rules({"default": [1, {"a": 2}]}, {"default": [1.0, {"a": 2.0}]}) == []
    assert field_rules({"default": 1}, {"default": 1.5}) == [("$.f", "default-changed")]


# -- every part of a schema that holds values is compared -------------------------------------


def test_a_recursive_definition_behind_null_is_compared_without_looping():
    class Node(BaseModel):
        name: str
        child: Node | None = None

    class NodeV2(BaseModel):
        name: int
        child: NodeV2 | None = None

    old, new = Node.model_json_schema(), NodeV2.model_json_schema()
    assert breaking_changes(old, old) == []
    assert [(b.path, b.rule) for b in breaking_changes(old, new)] == [("$.name", "type-changed")]


def test_the_values_of_a_map_are_compared():
    class Line(BaseModel):
        quantity: int

    class LineV2(BaseModel):
        quantity: str

    old_map = create_model("Old", counts=(dict[str, int], ...), lines=(dict[str, Line], ...))
    new_map = create_model("New", counts=(dict[str, str], ...), lines=(dict[str, LineV2], ...))
    changes = breaking_changes(old_map.model_json_schema(), new_map.model_json_schema())
    assert [str(b) for b in changes] == [
        "$.counts.*: type-changed: integer -> string",
        "$.lines.*.quantity: type-changed: integer -> string",
    ]


def test_each_position_of_a_tuple_is_compared():
    old = create_model("Old", at=(tuple[int, str], ...)).model_json_schema()
    new = create_model("New", at=(tuple[int, int], ...)).model_json_schema()
    assert [(b.path, b.rule) for b in breaking_changes(old, new)] == [("$.at[1]", "type-changed")]


class Card(BaseModel):
    kind: Literal["card"]
    last4: str


class Cash(BaseModel):
    kind: Literal["cash"]
    change: int = 0


def test_the_alternatives_of_a_discriminated_union_are_compared():
    class CardV2(BaseModel):
        kind: Literal["card"]
        last4: int

    def paid(*by: type[BaseModel]) -> dict:
        tagged = Annotated[Union[by], Field(discriminator="kind")]  # noqa: UP007
        return create_model("Paid", by=(tagged, ...)).model_json_schema()

    assert "oneOf" in paid(Card, Cash)["properties"]["by"]
    assert breaking_changes(paid(Card, Cash), paid(Cash, Card)) == []
    assert [(b.path, b.rule) for b in breaking_changes(paid(Card, Cash), paid(CardV2, Cash))] == [
        ("$.by.last4", "type-changed")
    ]


def test_reordering_the_objects_of_a_union_is_not_a_change():
    old = create_model("Old", by=(Card | Cash, ...)).model_json_schema()
    new = create_model("New", by=(Cash | Card, ...)).model_json_schema()
    assert breaking_changes(old, new) == []


def test_a_type_list_with_null_is_nullability_not_another_type():
    assert field_rules({"type": "string"}, {"type": ["string", "null"]}) == [
        ("$.f", "nullability-added")
    ]
    assert field_rules({"type": ["null", "string"]}, {"type": "string"}) == [
        ("$.f", "nullability-removed")
    ]


def test_a_type_list_is_compared_as_the_union_it_is_written_as_elsewhere():
    listed = {"type": ["string", "integer", "null"]}
    union = {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 5}, {"type": "null"}]}
    assert field_rules(listed, {"anyOf": [{"type": "integer"}, {"type": "string"}]}) == [
        ("$.f", "nullability-removed")
    ]
    assert field_rules(listed, union) == TIGHTENED
    assert field_rules(union, listed) == LOOSENED
    assert field_rules(listed, {"type": ["integer", "string", "null"]}) == []


def test_a_number_narrowed_to_an_integer_is_a_type_change():
    assert field_rules({"type": "number"}, {"type": "integer"}) == [("$.f", "type-changed")]


# -- openness: published objects accept properties they do not list --------------------------


def test_closing_an_object_is_breaking_opening_it_is_not():
    listed = {"type": "object", "properties": {"a": {"type": "string"}}}
    closed = {**listed, "additionalProperties": False}
    assert field_rules(listed, closed) == [("$.f", "object-closed")]
    assert field_rules(listed, {**listed, "unevaluatedProperties": False}) == [
        ("$.f", "object-closed")
    ]
    assert field_rules(closed, listed) == []
    assert field_rules(closed, closed) == []
